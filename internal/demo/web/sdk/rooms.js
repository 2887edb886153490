/** Chat rooms: one call per op of the `room` frame (docs/protocol.md, "Chat rooms"). */
export class Rooms {
    constructor(c) {
        this.c = c;
    }
    // Ops that are not idempotent (create, leave, delete, transfer,
    // delete_attrs, kick) are not repeated when the connection drops before the
    // reply: they reject with ConnectionLostError. The others are repeated.
    async op(op, fields = {}) {
        const once = ['create', 'leave', 'delete', 'transfer', 'delete_attrs', 'kick'];
        return this.c.request({ t: 'room', op, ...fields }, !once.includes(op));
    }
    /**
     * Joins a room; returns it and its last messages (oldest first) that were
     * not already emitted as roomMessage events. Later messages arrive live.
     */
    async join(room) {
        const f = await this.op('join', { room });
        const recent = (f.recent ?? []).filter((it) => this.c.markRoomSeen(it.to || room, it.msg_id));
        return { room: f.room, recent };
    }
    async leave(room) { await this.op('leave', { room }); }
    async info(room) { return (await this.op('info', { room })).room; }
    async members(room, cursor = '', limit = 1000) {
        const f = await this.op('members', { room, cursor: cursor || undefined, limit });
        return { members: f.members ?? [], cursor: f.cursor ?? '' };
    }
    async mine(cursor = '', limit = 100) {
        const f = await this.op('mine', { cursor: cursor || undefined, limit });
        return { rooms: f.rooms ?? [], cursor: f.cursor ?? '' };
    }
    async allMembers(room) {
        const out = [];
        let cursor = '';
        do {
            const p = await this.members(room, cursor);
            out.push(...p.members);
            cursor = p.cursor;
        } while (cursor);
        return out;
    }
    async allMine() {
        const out = [];
        let cursor = '';
        do {
            const p = await this.mine(cursor);
            out.push(...p.rooms);
            cursor = p.cursor;
        } while (cursor);
        return out;
    }
    async attributes(room, keys) {
        return (await this.op('attrs', { room, keys })).attrs ?? {};
    }
    /** Sets attributes (≤10 per call); returns the keys set and the refusals by key. */
    async setAttributes(room, attrs, opts = {}) {
        const f = await this.op('set_attrs', { room, attrs, auto_delete: opts.autoDelete || undefined, force: opts.force || undefined });
        return { success: (f.success ?? []), errors: (f.errors ?? {}) };
    }
    async deleteAttributes(room, keys, force = false) {
        const f = await this.op('delete_attrs', { room, keys, force: force || undefined });
        return { success: (f.success ?? []), errors: (f.errors ?? {}) };
    }
    async kick(room, users) { await this.op('kick', { room, users }); }
    /** Mutes members for durationMs (-1 for ever, 0 unmutes). */
    async mute(room, users, durationMs) {
        await this.op('mute', { room, users, duration: durationMs || undefined });
    }
    async muteAll(room, on) { await this.op('mute_all', { room, on }); }
    async announce(room, text) { await this.op('announce', { room, text }); }
    async setBlocked(room, users, on) { await this.op('block', { room, users, on }); }
    async setAllowed(room, users, on) { await this.op('allow', { room, users, on }); }
    async setAdmins(room, users, on) { await this.op('admin', { room, users, on }); }
    async update(room, settings) { await this.op('update', { room, settings }); }
    async transfer(room, newOwner) { await this.op('transfer', { room, user: newOwner }); }
    async delete(room) { await this.op('delete', { room }); }
    /** Creates a room (the app's room super admins only); settings.groupname is required. */
    async create(settings, members = []) {
        return (await this.op('create', { settings, users: members.length ? members : undefined })).room;
    }
}
