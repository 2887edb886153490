import { ParleyError } from './errors.js';
/** Group management: one call per op of the `group` frame (docs/protocol.md, "Managing groups"). */
export class Groups {
    constructor(c) {
        this.c = c;
    }
    // Ops that are not idempotent (create, dissolve, transfer, apply, answers,
    // invite, quit, kick) are not repeated when the connection drops before
    // the reply: they reject with ConnectionLostError. The others are repeated.
    async op(op, fields = {}) {
        const once = ['create', 'dissolve', 'transfer', 'apply', 'answer_apply', 'invite', 'answer_invite', 'quit', 'kick'];
        return this.c.request({ t: 'group', op, ...fields }, !once.includes(op));
    }
    /** Creates a group owned by this user with initial members (≤60); returns it. */
    async create(settings, members = []) {
        if (members.length > 60)
            throw new ParleyError('illegal_argument', 'at most 60 initial members');
        return (await this.op('create', { settings, users: members.length ? members : undefined })).group;
    }
    async info(group) { return (await this.op('info', { group })).group; }
    async update(group, settings) { await this.op('update', { group, settings }); }
    async announce(group, text) { await this.op('announce', { group, text }); }
    async dissolve(group) { await this.c.change({ t: 'group', op: 'dissolve', group }, false); }
    async transfer(group, newOwner) { await this.op('transfer', { group, user: newOwner }); }
    /** Asks to join a public group; `joined` is true when no approval is needed. */
    async apply(group, reason = '') {
        return { joined: !!(await this.op('apply', { group, reason: reason || undefined })).joined };
    }
    async answerApplication(group, user, accept, reason = '') {
        await this.op('answer_apply', { group, user, accept, reason: reason || undefined });
    }
    /** Invites users (≤60); returns those who joined at once (groups without invite_need_confirm). */
    async invite(group, users, reason = '') {
        if (users.length === 0 || users.length > 60)
            throw new ParleyError('illegal_argument', 'invite 1 to 60 users');
        return (await this.op('invite', { group, users, reason: reason || undefined })).users ?? [];
    }
    async answerInvitation(group, accept, reason = '') {
        await this.op('answer_invite', { group, accept, reason: reason || undefined });
    }
    async quit(group) { await this.op('quit', { group }); }
    async kick(group, users) { await this.op('kick', { group, users }); }
    async setAdmins(group, users, on) { await this.op('admin', { group, users, on }); }
    /** Mutes members for durationMs (0 unmutes). */
    async mute(group, users, durationMs) {
        await this.op('mute', { group, users, duration: durationMs || undefined });
    }
    async muteAll(group, on) { await this.op('mute_all', { group, on }); }
    async setAllowed(group, users, on) { await this.op('allow', { group, users, on }); }
    async setBlocked(group, users, on) { await this.op('block', { group, users, on }); }
    /** Stops (or resumes) live delivery of the group's messages to this user; they still come on sync. */
    async shield(group, on) { await this.op('shield', { group, on }); }
    async members(group, cursor = '', limit = 1000) {
        const f = await this.op('members', { group, cursor: cursor || undefined, limit });
        return { members: f.members ?? [], cursor: f.cursor ?? '' };
    }
    async allMembers(group) {
        const out = [];
        let cursor = '';
        do {
            const p = await this.members(group, cursor);
            out.push(...p.members);
            cursor = p.cursor;
        } while (cursor);
        return out;
    }
    /** The user's groups, one page (cursor: the page). */
    async mine(cursor = '', limit = 100) {
        const f = await this.op('mine', { cursor: cursor || undefined, limit });
        return { groups: f.groups ?? [], count: f.count ?? 0, cursor: f.cursor ?? '' };
    }
    async allMine() {
        const out = [];
        let cursor = '';
        do {
            const p = await this.mine(cursor);
            out.push(...p.groups);
            cursor = p.cursor;
        } while (cursor);
        return out;
    }
    /** Who read a need_group_ack message. */
    async readers(msgID, cursor = '', limit = 100) {
        const f = await this.op('acks', { msg_id: msgID, cursor: cursor || undefined, limit });
        return { users: f.users ?? [], count: f.count ?? 0, cursor: f.cursor ?? '' };
    }
}
