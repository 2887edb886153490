import { ParleyError } from './errors.js';
/** The connection ended before the reply. Internal: callers see ConnectionLostError or a retry. */
export class ConnClosed extends Error {
    constructor() {
        super('parley: connection closed');
    }
}
const replyKinds = new Set([
    'auth_ok', 'pong', 'ack', 'ok', 'error', 'sync_result', 'items', 'conversations_result',
    'contacts_result', 'contact_requests_result', 'blocks_result', 'attrs_result', 'presence_result',
    'events_result', 'group_result', 'room_result',
]);
/**
 * One WebSocket connection: numbered requests matched to their replies by id,
 * everything else handed to onPush. `closed` resolves once with the close
 * code and reason; pending requests then fail with ConnClosed.
 */
export class Conn {
    constructor(nextID, onPush) {
        this.nextID = nextID;
        this.onPush = onPush;
        this.pending = new Map();
        this.ended = false;
        this.endCode = 0;
        this.endReason = '';
        this.closed = new Promise((r) => (this.resolveClosed = r));
    }
    /** Opens the socket; resolves when the handshake is done. */
    open(factory, url, timeoutMs) {
        return new Promise((resolve, reject) => {
            let opened = false;
            const timer = setTimeout(() => {
                if (!opened) {
                    this.sock?.close(1000, 'handshake timeout');
                    this.finish(1006, 'handshake timeout');
                }
            }, timeoutMs);
            try {
                this.sock = factory(url, {
                    open: () => {
                        opened = true;
                        clearTimeout(timer);
                        resolve();
                    },
                    message: (data) => this.onMessage(data),
                    close: (code, reason) => {
                        clearTimeout(timer);
                        this.finish(code, reason);
                        if (!opened)
                            reject(new Error(`parley: websocket to ${url} failed (${code}${reason ? ' ' + reason : ''})`));
                    },
                });
            }
            catch (err) {
                clearTimeout(timer);
                this.finish(1006, String(err));
                reject(err);
            }
        });
    }
    onMessage(data) {
        let f;
        try {
            f = JSON.parse(data);
        }
        catch {
            return;
        }
        if (!f || typeof f.t !== 'string')
            return;
        if (f.t === 'kicked') {
            this.kicked = { code: f.code, reason: f.reason };
        }
        if (f.id !== undefined && replyKinds.has(f.t)) {
            const p = this.pending.get(f.id);
            if (p) {
                this.pending.delete(f.id);
                p.resolve(f);
                return;
            }
        }
        this.onPush(f);
    }
    finish(code, reason) {
        if (this.ended)
            return;
        this.ended = true;
        if (this.kicked) {
            code = code === 1006 || code === 1005 ? this.kicked.code : code;
            reason = reason || this.kicked.reason;
        }
        this.endCode = code;
        this.endReason = reason;
        for (const p of this.pending.values())
            p.reject(new ConnClosed());
        this.pending.clear();
        this.resolveClosed({ code, reason });
    }
    get isClosed() {
        return this.ended;
    }
    /** Sends a request and resolves with its reply frame (an `error` reply rejects with ParleyError). */
    request(req, timeoutMs, signal) {
        if (this.ended)
            return Promise.reject(new ConnClosed());
        const id = this.nextID();
        const frame = { ...req, id };
        return new Promise((resolve, reject) => {
            let timer;
            const cleanup = () => {
                if (timer)
                    clearTimeout(timer);
                signal?.removeEventListener('abort', onAbort);
            };
            const onAbort = () => {
                this.pending.delete(id);
                cleanup();
                reject(signal?.reason ?? new Error('aborted'));
            };
            this.pending.set(id, {
                req: frame,
                resolve: (f) => {
                    cleanup();
                    if (f.t === 'error')
                        reject(new ParleyError(f.code, f.message));
                    else
                        resolve(f);
                },
                reject: (e) => {
                    cleanup();
                    reject(e);
                },
            });
            if (timeoutMs && timeoutMs > 0) {
                timer = setTimeout(() => {
                    this.pending.delete(id);
                    cleanup();
                    reject(new RequestTimeout());
                }, timeoutMs);
            }
            if (signal) {
                if (signal.aborted)
                    return onAbort();
                signal.addEventListener('abort', onAbort);
            }
            try {
                this.sock.send(JSON.stringify(frame));
            }
            catch {
                this.abort('send failed');
            }
        });
    }
    /** Closes the connection politely. */
    close(code = 1000, reason = '') {
        if (this.ended)
            return;
        try {
            this.sock.close(code, reason);
        }
        catch {
            this.finish(1006, reason);
        }
        // If the peer never answers the close, give up after a second.
        setTimeout(() => this.finish(code, reason), 1000);
    }
    /** Drops the connection at once (dead link). */
    abort(reason) {
        try {
            this.sock.close(1000, reason);
        }
        catch {
            // already gone
        }
        this.finish(1006, reason);
    }
}
/** A request got no reply within its time limit. */
export class RequestTimeout extends Error {
    constructor() {
        super('parley: no reply in time');
        this.name = 'TimeoutError';
    }
}
