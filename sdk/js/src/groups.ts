import type { Client } from './client.js';
import { ParleyError } from './errors.js';
import type { GroupInfo, GroupMember, GroupSettings, Request } from './types.js';

/** Group management: one call per op of the `group` frame (docs/protocol.md, "Managing groups"). */
export class Groups {
  constructor(private c: Client) {}

  // Ops that are not idempotent (create, dissolve, transfer, apply, answers,
  // invite, quit, kick) are not repeated when the connection drops before
  // the reply: they reject with ConnectionLostError. The others are repeated.
  private async op(op: string, fields: Omit<Request, 't' | 'op'> = {}) {
    const once = ['create', 'dissolve', 'transfer', 'apply', 'answer_apply', 'invite', 'answer_invite', 'quit', 'kick'];
    return this.c.request({ t: 'group', op, ...fields }, !once.includes(op));
  }

  /** Creates a group owned by this user with initial members (≤60); returns it. */
  async create(settings: GroupSettings, members: string[] = []): Promise<GroupInfo> {
    if (members.length > 60) throw new ParleyError('illegal_argument', 'at most 60 initial members');
    return (await this.op('create', { settings, users: members.length ? members : undefined })).group;
  }
  async info(group: string): Promise<GroupInfo> { return (await this.op('info', { group })).group; }
  async update(group: string, settings: GroupSettings): Promise<void> { await this.op('update', { group, settings }); }
  async announce(group: string, text: string): Promise<void> { await this.op('announce', { group, text }); }
  async dissolve(group: string): Promise<void> { await this.c.change({ t: 'group', op: 'dissolve', group }, false); }
  async transfer(group: string, newOwner: string): Promise<void> { await this.op('transfer', { group, user: newOwner }); }
  /** Asks to join a public group; `joined` is true when no approval is needed. */
  async apply(group: string, reason = ''): Promise<{ joined: boolean }> {
    return { joined: !!(await this.op('apply', { group, reason: reason || undefined })).joined };
  }
  async answerApplication(group: string, user: string, accept: boolean, reason = ''): Promise<void> {
    await this.op('answer_apply', { group, user, accept, reason: reason || undefined });
  }
  /** Invites users (≤60); returns those who joined at once (groups without invite_need_confirm). */
  async invite(group: string, users: string[], reason = ''): Promise<string[]> {
    if (users.length === 0 || users.length > 60) throw new ParleyError('illegal_argument', 'invite 1 to 60 users');
    return (await this.op('invite', { group, users, reason: reason || undefined })).users ?? [];
  }
  async answerInvitation(group: string, accept: boolean, reason = ''): Promise<void> {
    await this.op('answer_invite', { group, accept, reason: reason || undefined });
  }
  async quit(group: string): Promise<void> { await this.op('quit', { group }); }
  async kick(group: string, users: string[]): Promise<void> { await this.op('kick', { group, users }); }
  async setAdmins(group: string, users: string[], on: boolean): Promise<void> { await this.op('admin', { group, users, on }); }
  /** Mutes members for durationMs (0 unmutes). */
  async mute(group: string, users: string[], durationMs: number): Promise<void> {
    await this.op('mute', { group, users, duration: durationMs || undefined });
  }
  async muteAll(group: string, on: boolean): Promise<void> { await this.op('mute_all', { group, on }); }
  async setAllowed(group: string, users: string[], on: boolean): Promise<void> { await this.op('allow', { group, users, on }); }
  async setBlocked(group: string, users: string[], on: boolean): Promise<void> { await this.op('block', { group, users, on }); }
  /** Stops (or resumes) live delivery of the group's messages to this user; they still come on sync. */
  async shield(group: string, on: boolean): Promise<void> { await this.op('shield', { group, on }); }
  async members(group: string, cursor = '', limit = 1000): Promise<{ members: GroupMember[]; cursor: string }> {
    const f = await this.op('members', { group, cursor: cursor || undefined, limit });
    return { members: f.members ?? [], cursor: f.cursor ?? '' };
  }
  async allMembers(group: string): Promise<GroupMember[]> {
    const out: GroupMember[] = [];
    let cursor = '';
    do {
      const p = await this.members(group, cursor);
      out.push(...p.members);
      cursor = p.cursor;
    } while (cursor);
    return out;
  }
  /** The user's groups, one page (cursor: the page). */
  async mine(cursor = '', limit = 100): Promise<{ groups: GroupInfo[]; count: number; cursor: string }> {
    const f = await this.op('mine', { cursor: cursor || undefined, limit });
    return { groups: f.groups ?? [], count: f.count ?? 0, cursor: f.cursor ?? '' };
  }
  async allMine(): Promise<GroupInfo[]> {
    const out: GroupInfo[] = [];
    let cursor = '';
    do {
      const p = await this.mine(cursor);
      out.push(...p.groups);
      cursor = p.cursor;
    } while (cursor);
    return out;
  }
  /** Who read a need_group_ack message. */
  async readers(msgID: string, cursor = '', limit = 100): Promise<{ users: string[]; count: number; cursor: string }> {
    const f = await this.op('acks', { msg_id: msgID, cursor: cursor || undefined, limit });
    return { users: f.users ?? [], count: f.count ?? 0, cursor: f.cursor ?? '' };
  }
}
