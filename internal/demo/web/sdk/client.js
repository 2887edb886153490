import { checkBody } from './bodies.js';
import { Conn, ConnClosed, RequestTimeout } from './conn.js';
import { Emitter } from './emitter.js';
import { CloseError, ClosedError, ConnectionLostError, ParleyError, TimeoutError, isCode, restError } from './errors.js';
import { browserSocket, fetchHttp } from './socket.js';
import { MemoryState } from './state.js';
import { PROTOCOL_VERSION, terminalClose, } from './types.js';
import { Groups } from './groups.js';
import { Rooms } from './rooms.js';
import { People } from './people.js';
import { Files } from './files.js';
import { Push } from './push.js';
const consoleWarnings = {
    debug() { },
    info() { },
    warn: (msg, ...args) => console.warn('parley:', msg, ...args),
};
const pullLimit = 100;
/** A random client_msg_id. */
export function newClientMsgId() {
    const c = globalThis.crypto;
    if (c?.randomUUID)
        return 'c-' + c.randomUUID();
    let s = 'c-';
    for (let i = 0; i < 4; i++)
        s += Math.floor(Math.random() * 0x100000000).toString(16).padStart(8, '0');
    return s;
}
/** backoff returns the delay before reconnect attempt n: min doubling to max, the upper half jittered. */
export function backoff(n, min, max, r) {
    let d = min;
    for (let i = 0; i < n && d < max; i++)
        d *= 2;
    if (d > max)
        d = max;
    const half = d / 2;
    return half + (d - half) * r;
}
/** The WebSocket URL of a base URL: http → ws, https → wss, path /ws?v=1. */
export function wsURL(base) {
    const u = base.replace(/\/+$/, '');
    const m = /^(https?):\/\/(.*)$/i.exec(u);
    if (!m)
        throw new Error(`parley: base URL ${base} is not http(s)`);
    return (m[1].toLowerCase() === 'https' ? 'wss://' : 'ws://') + m[2] + '/ws?v=' + PROTOCOL_VERSION;
}
/**
 * A Parley client: one WebSocket connection per device. Create it, attach
 * listeners with `on`, then `await connect()`, which signs in and runs a full
 * sync before it resolves. Afterwards the client reconnects by itself
 * (backoff with jitter, rotating through the endpoints), resyncs, and resends
 * unacknowledged messages with their original client_msg_id.
 *
 * Messages, recalls and group notices are emitted exactly once per client
 * and in seq order per conversation: duplicates (by conv_id and seq) are
 * dropped and gaps pulled before a later item is emitted.
 */
export class Client extends Emitter {
    constructor(config) {
        super();
        this.endpoint = 0;
        this.userName = '';
        this.ids = 0;
        this.ready = null;
        this.readyWaiters = [];
        this.stopErr = null;
        this.started = false;
        this.wake = null;
        this.outbox = [];
        this.pushes = [];
        this.processing = false;
        this.lock = Promise.resolve();
        this.background = false;
        // The conversation streams: the highest seq delivered per conversation.
        this.seqs = new Map();
        this.outside = new Set();
        this.cursor = '';
        // Delivered receipts: highest seq received from others, sent, confirmed.
        this.rcptWant = new Map();
        this.rcptSent = new Map();
        this.rcptAcked = new Map();
        // Stored events already delivered (the events cursor is rewound by the server).
        this.seenEvents = new Set();
        this.seenOrder = [];
        this.eventCursor = '';
        this.eventsOff = false;
        // Room messages already delivered.
        this.roomSeen = new Set();
        this.roomOrder = [];
        // ---- connection lifecycle ----
        this.nextID = () => String(++this.ids);
        this.cfg = {
            syncLatest: 20, backoffMin: 500, backoffMax: 30000, requestTimeout: 30000, pongTimeout: 10000,
            connectTimeout: 10000, ...config,
        };
        this.endpoints = (config.endpoints?.length ? config.endpoints : config.baseURL ? [config.baseURL] : []).map((u) => u.replace(/\/+$/, ''));
        if (this.endpoints.length === 0)
            throw new Error('parley: Config needs baseURL or endpoints');
        if (!config.org || !config.app)
            throw new Error('parley: Config needs org and app');
        if (!config.token && !(config.username && config.password)) {
            throw new Error('parley: Config needs a token, or a username and password');
        }
        this.tokenValue = config.token ?? '';
        this.resourceName = config.resource ?? '';
        this.state = config.state ?? new MemoryState();
        this.cursor = this.state.cursor();
        this.loadEventCursor(this.state.eventCursor());
        this.log = config.logger ?? consoleWarnings;
        this.socket = config.socket ?? browserSocket;
        this.http = config.http ?? fetchHttp;
        this.groups = new Groups(this);
        this.rooms = new Rooms(this);
        this.people = new People(this);
        this.files = new Files(this);
        this.push = new Push(this);
    }
    loadEventCursor(saved) {
        if (saved.startsWith('{')) {
            try {
                const v = JSON.parse(saved);
                this.eventCursor = typeof v.cursor === 'string' ? v.cursor : '';
                for (const id of Array.isArray(v.seen) ? v.seen : [])
                    if (typeof id === 'string')
                        this.markEvent(id);
                return;
            }
            catch {
                // not ours: start over
            }
        }
        this.eventCursor = saved;
    }
    /** The signed-in user (after connect). */
    get user() { return this.userName; }
    /** This device's resource (after connect). */
    get resource() { return this.resourceName; }
    /** The current user token. */
    get token() { return this.tokenValue; }
    /** The base URL in use. */
    get baseURL() { return this.endpoints[this.endpoint]; }
    get org() { return this.cfg.org; }
    get app() { return this.cfg.app; }
    /** Why the client stopped, or null while it runs. */
    get error() { return this.stopErr; }
    /** Whether a synced connection is up now. */
    get connected() { return this.ready !== null && !this.ready.isClosed; }
    /** @internal */
    get httpClient() { return this.http; }
    /** @internal */
    get logger() { return this.log; }
    /**
     * Connects, signs in and syncs. Rejects if the first attempt fails (the
     * client does not retry a first connection); afterwards it reconnects by itself.
     */
    async connect() {
        if (this.started)
            throw new Error('parley: connect called twice');
        this.started = true;
        let cn;
        try {
            cn = await this.dial();
            const c = cn;
            await this.locked(() => this.resync(c));
        }
        catch (err) {
            cn?.close(1000, 'sync failed');
            const e = cn ? await this.connError(cn, err) : err;
            this.stop(e instanceof Error ? e : new Error(String(e)));
            throw e;
        }
        this.setReady(cn);
        this.emit('connection', { state: 'resynced' });
        void this.run(cn);
    }
    /** Closes the connection and stops the client; pending calls fail with ClosedError. */
    close() {
        if (this.stopErr)
            return;
        this.stop(new ClosedError());
    }
    stop(err) {
        this.stopErr = err;
        const cn = this.ready;
        this.ready = null;
        cn?.close(1000, 'client closed');
        this.wake?.();
        for (const w of this.readyWaiters.splice(0))
            w.reject(err instanceof ClosedError ? err : new ClosedError(err));
        for (const o of this.outbox.splice(0)) {
            o.done = true;
            o.reject(err instanceof ClosedError ? err : new ClosedError(err));
        }
    }
    locked(fn) {
        const p = this.lock.then(fn);
        this.lock = p.catch(() => { });
        return p;
    }
    async run(cn) {
        for (;;) {
            const { code, reason } = await cn.closed;
            if (this.ready === cn)
                this.ready = null;
            if (this.stopErr)
                return;
            if (code === 4001 && this.canRefresh()) {
                this.tokenValue = ''; // revoked or expired: never reuse it
            }
            else if (terminalClose(code)) {
                this.halt(new CloseError(code, reason), code, reason);
                return;
            }
            this.emit('connection', { state: 'disconnected', code, reason });
            this.log.info('connection lost; reconnecting', code, reason);
            const next = await this.reconnect();
            if (!next)
                return;
            cn = next;
        }
    }
    halt(err, code, reason) {
        if (this.stopErr)
            return;
        this.stop(err);
        this.emit('connection', { state: 'disconnected', code, reason, final: true, error: err });
    }
    async reconnect() {
        for (let attempt = 0;; attempt++) {
            await new Promise((resolve) => {
                const t = setTimeout(resolve, backoff(attempt, this.cfg.backoffMin, this.cfg.backoffMax, Math.random()));
                this.wake = () => {
                    clearTimeout(t);
                    resolve();
                };
            });
            this.wake = null;
            if (this.stopErr)
                return null;
            this.endpoint = (this.endpoint + 1) % this.endpoints.length;
            let cn;
            try {
                cn = await this.dial();
                const c = cn;
                await this.locked(() => this.resync(c));
                if (this.stopErr) {
                    cn.close(1000, 'client closed');
                    return null;
                }
                this.setReady(cn);
                this.emit('connection', { state: 'resynced' });
                return cn;
            }
            catch (err) {
                cn?.close(1000, 'sync failed');
                const e = cn ? await this.connError(cn, err) : err;
                if (this.stopErr)
                    return null;
                if (terminal(e)) {
                    const ce = e instanceof CloseError ? e : undefined;
                    this.halt(e, ce?.code, ce?.reason);
                    return null;
                }
                this.log.info('reconnect failed', attempt + 1, String(e));
            }
        }
    }
    /** The error to report for a failure on cn: a CloseError for a terminal close. */
    async connError(cn, err) {
        if (!(err instanceof ConnClosed))
            return err;
        const { code, reason } = await cn.closed;
        if (terminalClose(code) && !(code === 4001 && this.canRefresh()))
            return new CloseError(code, reason);
        return new Error(`parley: connection closed (${code}${reason ? ' ' + reason : ''})`);
    }
    canRefresh() {
        return !!(this.cfg.username && this.cfg.password);
    }
    /** Gets a user token with the configured username and password. */
    async newToken(base) {
        const res = await this.http({
            method: 'POST',
            url: `${base}/${this.cfg.org}/${this.cfg.app}/token`,
            json: { grant_type: 'password', username: this.cfg.username, password: this.cfg.password },
        });
        if (res.status !== 200 || !res.body?.access_token)
            throw restError(res.status, res.body);
        this.tokenValue = res.body.access_token;
        return this.tokenValue;
    }
    /** Opens a connection and authenticates it, getting a (new) token when needed. */
    async dial() {
        const base = this.endpoints[this.endpoint];
        let token = this.tokenValue;
        let fresh = false;
        if (!token) {
            token = await this.newToken(base);
            fresh = true;
        }
        try {
            return await this.open(base, token);
        }
        catch (err) {
            if (isCode(err, 'bad_access_token') && this.canRefresh() && !fresh) {
                this.log.info('the server refused the token; getting a new one');
                return await this.open(base, await this.newToken(base));
            }
            throw err;
        }
    }
    async open(base, token) {
        const url = wsURL(base);
        const cn = new Conn(this.nextID, (f) => this.onPush(cn, f));
        await cn.open(this.socket, url, this.cfg.connectTimeout);
        try {
            const ok = await cn.request({
                t: 'auth', token, resource: this.resourceName || undefined, platform: this.cfg.platform || undefined,
                device_name: this.cfg.deviceName || undefined,
            }, this.cfg.connectTimeout);
            this.userName = ok.user;
            this.resourceName = ok.resource;
            if (this.background) {
                // The server forgets the background state with each connection.
                await cn.request({ t: 'background', on: true }, this.cfg.connectTimeout);
            }
            this.heartbeat(cn, (ok.heartbeat > 0 ? ok.heartbeat : 30) * 1000);
        }
        catch (err) {
            cn.close(1000, 'auth failed');
            throw await this.connError(cn, err instanceof RequestTimeout ? new Error('parley: no auth_ok in time') : err);
        }
        this.log.info('connected', url, this.userName, this.resourceName);
        this.emit('connection', { state: 'connected', resource: this.resourceName });
        return cn;
    }
    heartbeat(cn, every) {
        const t = setInterval(() => {
            cn.request({ t: 'ping' }, this.cfg.pongTimeout).catch((err) => {
                if (err instanceof RequestTimeout) {
                    this.log.info('no pong in time; dropping the connection');
                    cn.abort('no pong in time');
                }
            });
        }, every);
        // Node: the heartbeat alone does not keep the process alive.
        t.unref?.();
        void cn.closed.then(() => clearInterval(t));
    }
    setReady(cn) {
        this.ready = cn;
        for (const w of this.readyWaiters.splice(0))
            w.resolve(cn);
        const outbox = this.outbox.slice();
        if (outbox.length)
            this.log.info('resending unacknowledged messages', outbox.length);
        for (const o of outbox)
            this.transmit(cn, o);
        this.kick();
    }
    readyConn(deadline, signal) {
        if (this.stopErr)
            return Promise.reject(this.stopErr instanceof ClosedError ? this.stopErr : new ClosedError(this.stopErr));
        if (this.ready && !this.ready.isClosed)
            return Promise.resolve(this.ready);
        return new Promise((resolve, reject) => {
            const w = {
                resolve: (c) => {
                    clearTimeout(t);
                    resolve(c);
                },
                reject: (e) => {
                    clearTimeout(t);
                    reject(e);
                },
            };
            const t = setTimeout(() => {
                const i = this.readyWaiters.indexOf(w);
                if (i >= 0)
                    this.readyWaiters.splice(i, 1);
                reject(new TimeoutError('no connection in time'));
            }, Math.max(0, deadline - Date.now()));
            signal?.addEventListener('abort', () => w.reject(signal.reason ?? new Error('aborted')));
            this.readyWaiters.push(w);
        });
    }
    /**
     * Sends a request frame on the synced connection and returns the reply
     * frame; a refusal rejects with ParleyError. With retry, a request whose
     * connection drops before the reply is repeated on the next connection;
     * without, it rejects with ConnectionLostError. The low-level escape hatch
     * behind every call; frames are those of docs/protocol.md.
     */
    async request(req, retry = true, opts = {}) {
        const deadline = Date.now() + this.cfg.requestTimeout;
        for (;;) {
            const cn = await this.readyConn(deadline, opts.signal);
            try {
                return await cn.request(req, Math.max(1, deadline - Date.now()), opts.signal);
            }
            catch (err) {
                if (err instanceof ConnClosed) {
                    if (retry)
                        continue;
                    throw new ConnectionLostError();
                }
                if (err instanceof RequestTimeout)
                    throw new TimeoutError(`no reply to ${req.t} in time`);
                throw err;
            }
        }
    }
    /**
     * A REST call under /{org}/{app} with the user's token (renewed once on a
     * 401 when the client has a password). Resolves with the JSON answer;
     * failures reject with ParleyError (code: the Easemob error string).
     */
    async rest(method, path, json) {
        for (let attempt = 0;; attempt++) {
            if (this.stopErr && this.stopErr instanceof ClosedError)
                throw this.stopErr;
            const base = this.endpoints[this.endpoint];
            const token = this.tokenValue || (await this.newToken(base));
            const res = await this.http({
                method, url: `${base}/${this.cfg.org}/${this.cfg.app}${path}`, json,
                headers: { Authorization: `Bearer ${token}` },
            });
            if (res.status === 401 && attempt === 0 && this.canRefresh()) {
                await this.newToken(base);
                continue;
            }
            if (res.status < 200 || res.status >= 300)
                throw restError(res.status, res.body);
            return res.body;
        }
    }
    /** @internal Renews the token (password sign-in only). */
    async renewToken() {
        return this.canRefresh() ? this.newToken(this.endpoints[this.endpoint]) : null;
    }
    /**
     * @internal A request that records events for this user (people changes,
     * dissolving a group): the server does not push them to the device that
     * made the change, so the events are fetched afterwards (also after a
     * failure, which may still have changed something).
     */
    async change(req, retry) {
        try {
            return await this.request(req, retry);
        }
        finally {
            this.pushes.push({ eventsDue: true });
            this.kick();
        }
    }
    // ---- pushes and the conversation streams ----
    onPush(cn, f) {
        switch (f.t) {
            case 'item':
                if (f.item)
                    this.pushes.push(f.item.chat_type === 'chatroom' ? { roomItem: f.item } : { item: f.item });
                break;
            case 'receipt':
                this.pushes.push({ receipt: f });
                break;
            case 'conv':
                if (f.conversation)
                    this.pushes.push({ conv: f.conversation });
                break;
            case 'event':
                if (f.event)
                    this.pushes.push({ event: f.event });
                break;
            case 'room_event':
                if (f.event)
                    this.pushes.push({ roomEvent: f.event });
                break;
            case 'error':
                this.log.warn('the server reported an error', f.code, f.message);
                return;
            default:
                return; // kicked is handled by Conn; unknown kinds are ignored
        }
        if (cn === this.ready)
            this.kick();
    }
    kick() {
        if (this.processing || !this.ready || this.pushes.length === 0)
            return;
        this.processing = true;
        void this.locked(async () => {
            while (this.ready && this.pushes.length > 0 && !this.stopErr) {
                await this.process(this.ready, this.pushes.splice(0));
            }
        })
            .catch((err) => {
            if (!(err instanceof ConnClosed) && !this.stopErr)
                this.log.warn('processing pushes failed', String(err));
        })
            .finally(() => {
            this.processing = false;
            if (this.ready && this.pushes.length > 0)
                this.kick();
        });
    }
    async process(cn, batch) {
        let eventsDue = false;
        for (let i = 0; i < batch.length; i++) {
            const p = batch[i];
            if (p.item) {
                try {
                    await this.apply(cn, p.item);
                }
                catch (err) {
                    if (err instanceof ConnClosed) {
                        this.pushes.unshift(...batch.slice(i));
                        throw err;
                    }
                    this.log.warn('could not fill a gap', p.item.conv_id, String(err));
                }
            }
            else if (p.receipt) {
                this.emit('receipt', p.receipt);
            }
            else if (p.conv) {
                this.convChanged(p.conv, false);
            }
            else if (p.event) {
                if (this.deliverEvent(p.event) && p.event.id)
                    eventsDue = true;
            }
            else if (p.roomItem) {
                this.roomMessage(p.roomItem);
            }
            else if (p.roomEvent) {
                this.emit('roomEvent', p.roomEvent);
            }
            else if (p.eventsDue) {
                eventsDue = true;
            }
        }
        if (eventsDue)
            await this.syncEvents(cn);
        this.flushDelivered(cn);
    }
    convChanged(conv, fromSync) {
        if (conv.cleared_seq && conv.cleared_seq > 0)
            this.skipTo(conv.conv_id, conv.cleared_seq);
        this.emit('conversation', { conversation: conv, fromSync });
    }
    local(convID) {
        let v = this.seqs.get(convID);
        if (v === undefined) {
            v = this.state.seq(convID);
            this.seqs.set(convID, v);
        }
        return v;
    }
    skipTo(convID, seq) {
        if (seq > this.local(convID)) {
            this.seqs.set(convID, seq);
            this.state.setSeq(convID, seq);
        }
    }
    pull(cn, convID, after) {
        return cn
            .request({ t: 'pull', conv_id: convID, after_seq: after, limit: pullLimit }, this.cfg.requestTimeout)
            .then((f) => ({ items: (f.items ?? []), more: !!f.more }));
    }
    async apply(cn, it) {
        if (!it.seq) {
            this.deliver(it); // ROUTE_ONLINE and directed: not part of the stream
            return;
        }
        const l = this.local(it.conv_id);
        if (it.seq <= l)
            return;
        if (it.seq > l + 1) {
            if (it.chat_type === 'groupchat' && l === 0 && joins(it, this.userName)) {
                this.skipTo(it.conv_id, it.seq - 1);
            }
            else {
                if (it.chat_type === 'groupchat')
                    await this.startGroup(cn, it.conv_id, it.seq);
                await this.catchUp(cn, it.conv_id, it.seq);
                const now = this.local(it.conv_id);
                if (it.seq <= now)
                    return;
                if (it.seq > now + 1) {
                    this.log.warn('pull did not reach a pushed item; leaving it to the next sync', it.conv_id, it.seq, now);
                    return;
                }
            }
        }
        this.deliver(it);
    }
    /** Pulls a conversation up to upTo (0: to its end), delivering each item once. */
    async catchUp(cn, convID, upTo) {
        for (;;) {
            const after = this.local(convID);
            if (upTo > 0 && after >= upTo)
                return;
            const { items, more } = await this.pull(cn, convID, after);
            let moved = false;
            for (const it of items) {
                if (!it || it.conv_id !== convID || it.seq <= this.local(convID))
                    continue;
                this.deliver(it); // a jump past cleared_seq is accepted
                moved = true;
            }
            if (!more || !moved)
                return;
        }
    }
    /**
     * A group conversation this device never delivered from starts at the
     * notice of the user's latest join (the server lets members pull the
     * whole stream, but a member's view starts when they joined).
     */
    async startGroup(cn, convID, upTo) {
        if (this.local(convID) !== 0)
            return;
        const self = this.userName;
        let hi = upTo;
        while (hi > 0) {
            let lo = Math.max(0, hi - pullLimit);
            let after = lo;
            let found = 0;
            while (after < hi) {
                const { items, more } = await this.pull(cn, convID, after);
                if (items.length > 0 && items[0] && items[0].seq > after + 1 && after === lo)
                    lo = 0;
                let moved = false;
                for (const it of items) {
                    if (!it || it.conv_id !== convID || it.seq <= after || it.seq > hi)
                        continue;
                    if (joins(it, self))
                        found = it.seq;
                    after = it.seq;
                    moved = true;
                }
                if (!more || !moved)
                    break;
            }
            if (found > 0) {
                if (found > 1)
                    this.skipTo(convID, found - 1);
                return;
            }
            if (lo === 0)
                return;
            hi = lo;
        }
    }
    deliver(it) {
        if (it.seq > 0) {
            if (it.seq <= this.local(it.conv_id))
                return;
            this.seqs.set(it.conv_id, it.seq);
        }
        const self = this.userName;
        const group = it.chat_type === 'groupchat';
        if (group && it.seq > 0) {
            if (joins(it, self)) {
                this.outside.delete(it.conv_id);
            }
            else if (this.outside.has(it.conv_id)) {
                this.state.setSeq(it.conv_id, it.seq);
                return;
            }
            else if (leaves(it, self)) {
                this.outside.add(it.conv_id);
            }
        }
        switch (it.kind) {
            case 'msg':
                this.emit('message', { item: it, mentioned: group && it.from !== self && mentions(it.ext, self) });
                break;
            case 'recall':
                this.emit('recall', { item: it });
                break;
            case 'edit':
                this.emit('edit', { item: it });
                break;
            case 'notice':
                this.emit('groupNotice', noticeEvent(it));
                break;
            default:
                this.log.debug('skipping an item of unknown kind', it.kind);
        }
        if (it.seq > 0) {
            if (it.from !== self && it.seq > (this.rcptWant.get(it.conv_id) ?? 0))
                this.rcptWant.set(it.conv_id, it.seq);
            this.state.setSeq(it.conv_id, it.seq);
        }
    }
    /** Sends one delivered receipt per conversation with new items from others. */
    flushDelivered(cn) {
        for (const [conv, seq] of [...this.rcptWant].sort()) {
            if (seq <= (this.rcptSent.get(conv) ?? 0))
                continue;
            this.rcptSent.set(conv, seq);
            cn.request({ t: 'delivered', conv_id: conv, seq }, this.cfg.requestTimeout).then(() => {
                if (seq > (this.rcptAcked.get(conv) ?? 0))
                    this.rcptAcked.set(conv, seq);
            }, (err) => {
                if (err instanceof ParleyError) {
                    this.log.debug('delivered receipt refused', conv, String(err));
                    return;
                }
                if (this.rcptSent.get(conv) === seq)
                    this.rcptSent.set(conv, this.rcptAcked.get(conv) ?? 0);
            });
        }
    }
    /** Sync from the cursor, then pull every changed conversation; then the stored events. */
    async resync(cn) {
        const fresh = this.cursor === '';
        let since = this.cursor;
        for (;;) {
            const req = { t: 'sync', since: since || undefined };
            if (fresh)
                req.latest = this.cfg.syncLatest;
            const res = await cn.request(req, this.cfg.requestTimeout);
            for (const conv of (res.conversations ?? [])) {
                if (!conv?.conv_id)
                    continue;
                if (fresh) {
                    this.skipTo(conv.conv_id, conv.last_seq);
                    this.emit('conversation', { conversation: conv, fromSync: true });
                    continue;
                }
                if (conv.cleared_seq && conv.cleared_seq > 0)
                    this.skipTo(conv.conv_id, conv.cleared_seq);
                if (conv.last_seq > this.local(conv.conv_id)) {
                    try {
                        if (conv.chat_type === 'groupchat')
                            await this.startGroup(cn, conv.conv_id, conv.last_seq);
                        await this.catchUp(cn, conv.conv_id, conv.last_seq);
                    }
                    catch (err) {
                        if (err instanceof ConnClosed)
                            throw err;
                        this.log.warn('could not pull a conversation', conv.conv_id, String(err));
                    }
                }
                this.emit('conversation', { conversation: conv, fromSync: true });
            }
            let next = res.next || since || '0'; // "0": synced once, no longer a new device
            this.cursor = next;
            this.state.setCursor(next);
            if (!res.more)
                break;
            if (next === since) {
                this.log.warn('sync reported more without moving its cursor; stopping', next);
                break;
            }
            since = next;
        }
        this.flushDelivered(cn);
        await this.syncEvents(cn);
    }
    /**
     * Fetches the stored events since the events cursor and emits those not
     * delivered before (the server rewinds a cursor by 30 s, so rounds overlap;
     * the IDs seen recently are kept, and saved with the cursor in State). A
     * new device starts at the server's current position unless
     * Config.eventHistory is set.
     */
    async syncEvents(cn) {
        if (this.eventsOff)
            return;
        try {
            let from = this.eventCursor;
            let deliver = true;
            if (from === '' && !this.cfg.eventHistory) {
                const res = await cn.request({ t: 'events', since: 'now', limit: 100 }, this.cfg.requestTimeout);
                if (!res.next)
                    throw new Error('parley: the server gave no events cursor');
                from = res.next;
                deliver = false; // only mark what the overlap returns as seen
            }
            let since = from;
            for (;;) {
                const res = await cn.request({ t: 'events', since: since || undefined, limit: 100 }, this.cfg.requestTimeout);
                for (const ev of (res.events ?? [])) {
                    if (deliver)
                        this.deliverEvent(ev);
                    else
                        this.markEvent(ev.id);
                }
                const next = res.next || since;
                if (!res.more || next === since) {
                    since = next;
                    break;
                }
                since = next;
            }
            if (since) {
                this.eventCursor = since;
                this.state.setEventCursor(JSON.stringify({ cursor: since, seen: this.seenOrder.slice(-500) }));
            }
        }
        catch (err) {
            if (err instanceof ConnClosed)
                throw err;
            if (isCode(err, 'unknown_frame')) {
                this.log.warn('the server does not support events requests; people events come only while connected');
                this.eventsOff = true;
            }
            else if (isCode(err, 'illegal_argument') && this.eventCursor !== '') {
                this.log.warn('the server refused the saved events cursor; starting from its current position');
                this.eventCursor = '';
                return this.syncEvents(cn);
            }
            else {
                this.log.warn('fetching events failed; trying again later', String(err));
            }
        }
    }
    markEvent(id) {
        if (!id)
            return true;
        if (this.seenEvents.has(id))
            return false;
        this.seenEvents.add(id);
        this.seenOrder.push(id);
        if (this.seenOrder.length > 5000)
            this.seenEvents.delete(this.seenOrder.shift());
        return true;
    }
    /** Emits an event unless it was delivered before; returns whether it was new. */
    deliverEvent(ev) {
        if (!this.markEvent(ev.id))
            return false;
        switch (ev.kind) {
            case 'presence':
                if (ev.presence)
                    this.emit('presence', ev.presence);
                break;
            case 'group_ack':
                this.emit('groupAck', ev);
                break;
            case 'broadcast':
                this.emit('broadcast', ev);
                break;
            default:
                this.emit('event', ev);
        }
        return true;
    }
    /** @internal Marks a room message seen; returns false if it was. */
    markRoomSeen(room, msgID) {
        const k = room + '\u0000' + msgID;
        if (this.roomSeen.has(k))
            return false;
        this.roomSeen.add(k);
        this.roomOrder.push(k);
        if (this.roomOrder.length > 1000)
            this.roomSeen.delete(this.roomOrder.shift());
        return true;
    }
    roomMessage(it) {
        if (this.markRoomSeen(it.to, it.msg_id))
            this.emit('roomMessage', it);
    }
    // ---- messaging ----
    /**
     * Sends a message and resolves with its ack once the server stored it.
     * After a lost connection it is resent with the same client_msg_id, so it
     * is stored once (ack.duplicate tells a retry). Messages that are never
     * stored (routeOnline, directedTo, chat rooms) are not repeated: they
     * reject with ConnectionLostError. Your own stored message is also emitted
     * as a `message` event, in order with the conversation.
     */
    send(m, opts = {}) {
        let req;
        try {
            req = sendRequest(m);
        }
        catch (err) {
            return Promise.reject(err);
        }
        if (this.stopErr)
            return Promise.reject(new ClosedError(this.stopErr));
        const online = !!m.routeOnline || (m.directedTo?.length ?? 0) > 0 || m.chatType === 'chatroom';
        return new Promise((resolve, reject) => {
            const o = { req, online, sentOn: null, done: false, resolve, reject };
            this.outbox.push(o);
            opts.signal?.addEventListener('abort', () => this.settle(o, undefined, opts.signal.reason ?? new Error('aborted')));
            if (this.ready && !this.ready.isClosed)
                this.transmit(this.ready, o);
        });
    }
    sendText(to, text, chatType = 'chat') {
        return this.send({ to, chatType, type: 'txt', body: { msg: text } });
    }
    settle(o, ack, err) {
        if (o.done)
            return;
        o.done = true;
        const i = this.outbox.indexOf(o);
        if (i >= 0)
            this.outbox.splice(i, 1);
        if (ack)
            o.resolve(ack);
        else
            o.reject(err);
    }
    transmit(cn, o) {
        if (o.sentOn === cn || o.done)
            return;
        o.sentOn = cn;
        cn.request(o.req).then((f) => {
            const ack = { msg_id: f.msg_id, conv_id: f.conv_id, seq: f.seq, ts: f.ts, duplicate: f.duplicate };
            if (o.done)
                return;
            this.settle(o, ack);
            if (ack.seq && ack.conv_id) {
                const r = o.req;
                this.pushes.push({
                    item: {
                        kind: 'msg', msg_id: ack.msg_id, conv_id: ack.conv_id, seq: ack.seq, chat_type: r.chat_type ?? 'chat',
                        from: this.userName, to: r.to, type: r.type, body: r.body, ext: r.ext, ts: ack.ts,
                        client_msg_id: r.client_msg_id, need_group_ack: r.need_group_ack,
                    },
                });
                this.kick();
            }
        }, (err) => {
            if (err instanceof ConnClosed) {
                if (o.online)
                    this.settle(o, undefined, new ConnectionLostError());
                return; // resent by setReady on the next connection
            }
            this.settle(o, undefined, err);
        });
    }
    /** Recalls a message (the sender within the recall window; group owners and admins any time). */
    async recall(msgID) {
        await this.request({ t: 'recall', msg_id: msgID }, false);
    }
    /**
     * Replaces the content of one of this user's txt or custom messages (the
     * type cannot change); ext, if given, is merged into the message's ext key
     * by key. Everyone in the conversation gets an `edit` event. Like recall it
     * is not repeated after a lost connection (ConnectionLostError): the edit
     * event tells whether it happened.
     */
    async edit(msgID, type, body, ext) {
        if (!msgID)
            throw new ParleyError('illegal_argument', 'edit needs a message ID');
        if (type !== 'txt' && type !== 'custom')
            throw new ParleyError('illegal_argument', `only txt and custom messages can be edited, not ${type}`);
        const bad = checkBody(type, body);
        if (bad)
            throw new ParleyError('illegal_argument', bad);
        await this.request({ t: 'edit', msg_id: msgID, type, body, ext }, false);
    }
    /** Marks a conversation read up to seq (0 or omitted: everything). */
    async markRead(convID, seq = 0) {
        await this.request({ t: 'read', conv_id: convID, seq: seq || undefined });
    }
    /** Marks one message read (also a group read receipt for need_group_ack messages). */
    async markMessageRead(msgID) {
        await this.request({ t: 'read', msg_id: msgID });
    }
    /** A conversation's stored messages, oldest first; `more` says whether there are further ones. */
    async history(convID, q = {}) {
        const f = await this.request({
            t: 'history', conv_id: convID, msg_id: q.msgId, time: q.time, limit: q.limit,
            direction: q.forward ? 'forward' : undefined,
        });
        return { items: f.items ?? [], more: !!f.more };
    }
    /** The conversation list: pinned first, then by last activity; pass `cursor` for the next page. */
    async conversations(limit = 50, cursor = '') {
        const f = await this.request({ t: 'conversations', limit, cursor: cursor || undefined });
        return { conversations: f.conversations ?? [], cursor: f.cursor ?? '' };
    }
    async pinConversation(convID, pinned) {
        await this.request({ t: 'conv_pin', conv_id: convID, pinned });
    }
    /** Hides a conversation and its history so far from this user. */
    async deleteConversation(convID) {
        await this.request({ t: 'conv_delete', conv_id: convID });
    }
    /** Pings the server; resolves with its clock (ms). */
    async ping() {
        const f = await this.request({ t: 'ping' }, false);
        return f.ts;
    }
    /**
     * Tells the server the application went to (or came back from) the
     * background, so messages are pushed although the device stays connected.
     * Repeated on every new connection, since the server forgets it.
     */
    async setBackground(on) {
        this.background = on;
        await this.request({ t: 'background', on });
    }
}
/** terminal reports whether a failure to (re)connect should stop the client. */
function terminal(err) {
    if (err instanceof CloseError)
        return true;
    if (!(err instanceof ParleyError))
        return false;
    if (err.status !== undefined)
        return err.status >= 400 && err.status < 500 && err.status !== 429;
    return !['internal', 'unavailable', 'rate_limited', 'conflict'].includes(err.code);
}
function sendRequest(m) {
    const type = m.type ?? 'txt';
    if (!m.to)
        throw new ParleyError('illegal_argument', 'send needs to');
    const bad = checkBody(type, m.body);
    if (bad)
        throw new ParleyError('illegal_argument', bad);
    const chatType = m.chatType ?? 'chat';
    if (m.clientMsgId && m.clientMsgId.length > 64)
        throw new ParleyError('illegal_argument', 'client_msg_id is longer than 64');
    if ((m.mentions?.length || m.mentionAll || m.needGroupAck || m.directedTo?.length) && chatType !== 'groupchat') {
        throw new ParleyError('illegal_argument', 'mentions, needGroupAck and directedTo are for group messages');
    }
    if (m.priority && chatType !== 'chatroom')
        throw new ParleyError('illegal_argument', 'priority is for chat room messages');
    let ext = m.ext;
    if (m.mentionAll)
        ext = { ...(ext ?? {}), em_at_list: 'all' };
    else if (m.mentions?.length)
        ext = { ...(ext ?? {}), em_at_list: m.mentions };
    return {
        t: 'send', to: m.to, chat_type: chatType, type, body: m.body,
        ext: ext && Object.keys(ext).length ? ext : undefined,
        client_msg_id: m.clientMsgId || newClientMsgId(),
        routetype: m.routeOnline ? 'ROUTE_ONLINE' : undefined,
        need_group_ack: m.needGroupAck || undefined,
        users: m.directedTo?.length ? m.directedTo : undefined,
        chatroom_msg_level: m.priority,
    };
}
function eqUser(list, user) {
    return Array.isArray(list) && list.some((u) => typeof u === 'string' && u.toLowerCase() === user.toLowerCase());
}
/** Whether a stream item is the notice of user joining the group (or creating it). */
export function joins(it, user) {
    if (it.kind !== 'notice' || !user)
        return false;
    const b = it.body ?? {};
    if (it.type === 'group_created')
        return String(b.owner ?? '').toLowerCase() === user.toLowerCase() || eqUser(b.members, user);
    return it.type === 'member_joined' && eqUser(b.users, user);
}
/** Whether a stream item is the notice of user leaving the group (quit, removed or blocked). */
export function leaves(it, user) {
    if (it.kind !== 'notice' || !user)
        return false;
    return (it.type === 'member_left' || it.type === 'member_removed') && eqUser((it.body ?? {}).users, user);
}
/** Whether a message's ext mentions user (em_at_list: a list of users, or "all"). */
export function mentions(ext, user) {
    const l = ext?.em_at_list;
    if (l === 'all')
        return true;
    return eqUser(l, user);
}
function noticeEvent(it) {
    const b = it.body ?? {};
    let by = typeof b.by === 'string' ? b.by : undefined;
    if (by === undefined && (it.type === 'group_created' || it.type === 'owner_changed'))
        by = it.from;
    return {
        item: it, type: it.type ?? '', group: it.to, by, users: b.users, owner: b.owner, members: b.members,
        oldOwner: b.from, newOwner: b.to, until: b.until, announcement: b.announcement, fields: b.fields,
    };
}
