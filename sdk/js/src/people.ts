import type { Client } from './client.js';
import type { ContactInfo, ContactRequestInfo, Presence } from './types.js';

/**
 * Friends, friend requests, block lists, user attributes and presence. Changes arrive as `event`/`presence`.
 * Requests, answers, removals and unblock are not repeated after a lost connection (ConnectionLostError).
 */
export class People {
  constructor(private c: Client) {}

  async requestContact(user: string, reason = ''): Promise<void> {
    await this.c.change({ t: 'contact_request', to: user, reason: reason || undefined }, false);
  }
  async acceptContact(user: string): Promise<void> { await this.c.change({ t: 'contact_accept', user }, false); }
  async declineContact(user: string): Promise<void> { await this.c.change({ t: 'contact_decline', user }, false); }
  async removeContact(user: string): Promise<void> { await this.c.change({ t: 'contact_remove', user }, false); }
  async setRemark(user: string, remark: string): Promise<void> { await this.c.request({ t: 'contact_remark', user, remark }); }
  async contacts(cursor = '', limit = 100): Promise<{ contacts: ContactInfo[]; cursor: string }> {
    const f = await this.c.request({ t: 'contacts', cursor: cursor || undefined, limit });
    return { contacts: f.contacts ?? [], cursor: f.cursor ?? '' };
  }
  async allContacts(): Promise<ContactInfo[]> {
    const out: ContactInfo[] = [];
    let cursor = '';
    do {
      const p = await this.contacts(cursor, 1000);
      out.push(...p.contacts);
      cursor = p.cursor;
    } while (cursor);
    return out;
  }
  async contactRequests(): Promise<ContactRequestInfo[]> {
    return (await this.c.request({ t: 'contact_requests' })).requests ?? [];
  }
  async block(users: string[]): Promise<void> { await this.c.change({ t: 'block', users }, true); }
  async unblock(user: string): Promise<void> { await this.c.change({ t: 'unblock', user }, false); }
  async blocked(cursor = '', limit = 500): Promise<{ users: string[]; cursor: string }> {
    const f = await this.c.request({ t: 'blocks', cursor: cursor || undefined, limit });
    return { users: f.users ?? [], cursor: f.cursor ?? '' };
  }
  /** Merges attributes (an empty value removes a key); returns the user's attributes now. */
  async setAttributes(attrs: Record<string, string>): Promise<Record<string, string>> {
    const f = await this.c.change({ t: 'attrs_set', attrs }, true);
    const all = f.attrs ?? {};
    return all[this.c.user] ?? all[Object.keys(all)[0]] ?? {};
  }
  async attributes(users: string[], keys?: string[]): Promise<Record<string, Record<string, string>>> {
    return (await this.c.request({ t: 'attrs_get', users, keys })).attrs ?? {};
  }
  async deleteAttributes(): Promise<void> { await this.c.change({ t: 'attrs_delete' }, true); }
  async publishPresence(status: string): Promise<void> { await this.c.request({ t: 'presence_publish', status }); }
  /** Subscribes for expirySeconds; returns their presence now. Changes arrive as `presence` events. */
  async subscribePresence(users: string[], expirySeconds = 86400): Promise<Presence[]> {
    return (await this.c.request({ t: 'presence_subscribe', users, expiry: expirySeconds })).presence ?? [];
  }
  async unsubscribePresence(users: string[]): Promise<void> { await this.c.request({ t: 'presence_unsubscribe', users }); }
  async presence(users: string[]): Promise<Presence[]> {
    return (await this.c.request({ t: 'presence_get', users })).presence ?? [];
  }
}
