import type { Client } from './client.js';
import type { GroupMember, GroupSettings, Item, Request, RoomInfo } from './types.js';

/** Chat rooms: one call per op of the `room` frame (docs/protocol.md, "Chat rooms"). */
export class Rooms {
  constructor(private c: Client) {}

  // Ops that are not idempotent (create, leave, delete, transfer,
  // delete_attrs, kick) are not repeated when the connection drops before the
  // reply: they reject with ConnectionLostError. The others are repeated.
  private async op(op: string, fields: Omit<Request, 't' | 'op'> = {}) {
    const once = ['create', 'leave', 'delete', 'transfer', 'delete_attrs', 'kick'];
    return this.c.request({ t: 'room', op, ...fields }, !once.includes(op));
  }

  /**
   * Joins a room; returns it and its last messages (oldest first) that were
   * not already emitted as roomMessage events. Later messages arrive live.
   */
  async join(room: string): Promise<{ room: RoomInfo; recent: Item[] }> {
    const f = await this.op('join', { room });
    const recent = ((f.recent ?? []) as Item[]).filter((it) => this.c.markRoomSeen(it.to || room, it.msg_id));
    return { room: f.room, recent };
  }
  async leave(room: string): Promise<void> { await this.op('leave', { room }); }
  async info(room: string): Promise<RoomInfo> { return (await this.op('info', { room })).room; }
  async members(room: string, cursor = '', limit = 1000): Promise<{ members: GroupMember[]; cursor: string }> {
    const f = await this.op('members', { room, cursor: cursor || undefined, limit });
    return { members: f.members ?? [], cursor: f.cursor ?? '' };
  }
  async mine(cursor = '', limit = 100): Promise<{ rooms: RoomInfo[]; cursor: string }> {
    const f = await this.op('mine', { cursor: cursor || undefined, limit });
    return { rooms: f.rooms ?? [], cursor: f.cursor ?? '' };
  }
  async allMembers(room: string): Promise<GroupMember[]> {
    const out: GroupMember[] = [];
    let cursor = '';
    do {
      const p = await this.members(room, cursor);
      out.push(...p.members);
      cursor = p.cursor;
    } while (cursor);
    return out;
  }
  async allMine(): Promise<RoomInfo[]> {
    const out: RoomInfo[] = [];
    let cursor = '';
    do {
      const p = await this.mine(cursor);
      out.push(...p.rooms);
      cursor = p.cursor;
    } while (cursor);
    return out;
  }
  async attributes(room: string, keys?: string[]): Promise<Record<string, string>> {
    return (await this.op('attrs', { room, keys })).attrs ?? {};
  }
  /** Sets attributes (≤10 per call); returns the keys set and the refusals by key. */
  async setAttributes(room: string, attrs: Record<string, string>, opts: { autoDelete?: boolean; force?: boolean } = {}) {
    const f = await this.op('set_attrs', { room, attrs, auto_delete: opts.autoDelete || undefined, force: opts.force || undefined });
    return { success: (f.success ?? []) as string[], errors: (f.errors ?? {}) as Record<string, string> };
  }
  async deleteAttributes(room: string, keys: string[], force = false) {
    const f = await this.op('delete_attrs', { room, keys, force: force || undefined });
    return { success: (f.success ?? []) as string[], errors: (f.errors ?? {}) as Record<string, string> };
  }
  async kick(room: string, users: string[]): Promise<void> { await this.op('kick', { room, users }); }
  /** Mutes members for durationMs (-1 for ever, 0 unmutes). */
  async mute(room: string, users: string[], durationMs: number): Promise<void> {
    await this.op('mute', { room, users, duration: durationMs || undefined });
  }
  async muteAll(room: string, on: boolean): Promise<void> { await this.op('mute_all', { room, on }); }
  async announce(room: string, text: string): Promise<void> { await this.op('announce', { room, text }); }
  async setBlocked(room: string, users: string[], on: boolean): Promise<void> { await this.op('block', { room, users, on }); }
  async setAllowed(room: string, users: string[], on: boolean): Promise<void> { await this.op('allow', { room, users, on }); }
  async setAdmins(room: string, users: string[], on: boolean): Promise<void> { await this.op('admin', { room, users, on }); }
  async update(room: string, settings: GroupSettings): Promise<void> { await this.op('update', { room, settings }); }
  async transfer(room: string, newOwner: string): Promise<void> { await this.op('transfer', { room, user: newOwner }); }
  async delete(room: string): Promise<void> { await this.op('delete', { room }); }
  /** Creates a room (the app's room super admins only); settings.groupname is required. */
  async create(settings: GroupSettings, members: string[] = []): Promise<RoomInfo> {
    return (await this.op('create', { settings, users: members.length ? members : undefined })).room;
  }
}
