/**
 * Friends, friend requests, block lists, user attributes and presence. Changes arrive as `event`/`presence`.
 * Requests, answers, removals and unblock are not repeated after a lost connection (ConnectionLostError).
 */
export class People {
    constructor(c) {
        this.c = c;
    }
    async requestContact(user, reason = '') {
        await this.c.change({ t: 'contact_request', to: user, reason: reason || undefined }, false);
    }
    async acceptContact(user) { await this.c.change({ t: 'contact_accept', user }, false); }
    async declineContact(user) { await this.c.change({ t: 'contact_decline', user }, false); }
    async removeContact(user) { await this.c.change({ t: 'contact_remove', user }, false); }
    async setRemark(user, remark) { await this.c.request({ t: 'contact_remark', user, remark }); }
    async contacts(cursor = '', limit = 100) {
        const f = await this.c.request({ t: 'contacts', cursor: cursor || undefined, limit });
        return { contacts: f.contacts ?? [], cursor: f.cursor ?? '' };
    }
    async allContacts() {
        const out = [];
        let cursor = '';
        do {
            const p = await this.contacts(cursor, 1000);
            out.push(...p.contacts);
            cursor = p.cursor;
        } while (cursor);
        return out;
    }
    async contactRequests() {
        return (await this.c.request({ t: 'contact_requests' })).requests ?? [];
    }
    async block(users) { await this.c.change({ t: 'block', users }, true); }
    async unblock(user) { await this.c.change({ t: 'unblock', user }, false); }
    async blocked(cursor = '', limit = 500) {
        const f = await this.c.request({ t: 'blocks', cursor: cursor || undefined, limit });
        return { users: f.users ?? [], cursor: f.cursor ?? '' };
    }
    /** Merges attributes (an empty value removes a key); returns the user's attributes now. */
    async setAttributes(attrs) {
        const f = await this.c.change({ t: 'attrs_set', attrs }, true);
        const all = f.attrs ?? {};
        return all[this.c.user] ?? all[Object.keys(all)[0]] ?? {};
    }
    async attributes(users, keys) {
        return (await this.c.request({ t: 'attrs_get', users, keys })).attrs ?? {};
    }
    async deleteAttributes() { await this.c.change({ t: 'attrs_delete' }, true); }
    async publishPresence(status) { await this.c.request({ t: 'presence_publish', status }); }
    /** Subscribes for expirySeconds; returns their presence now. Changes arrive as `presence` events. */
    async subscribePresence(users, expirySeconds = 86400) {
        return (await this.c.request({ t: 'presence_subscribe', users, expiry: expirySeconds })).presence ?? [];
    }
    async unsubscribePresence(users) { await this.c.request({ t: 'presence_unsubscribe', users }); }
    async presence(users) {
        return (await this.c.request({ t: 'presence_get', users })).presence ?? [];
    }
}
