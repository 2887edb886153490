/**
 * A request the server refused. For WebSocket requests `code` is an ID of the
 * error registry (docs/errors.md), e.g. `recall_window_passed`. For REST calls
 * it is the Easemob `error` string of the answer (e.g. `invalid_grant`), and
 * `status` is the HTTP status.
 */
export class ParleyError extends Error {
    constructor(code, message, status) {
        super(`${code}: ${message}`);
        this.name = 'ParleyError';
        this.code = code;
        this.status = status;
    }
}
/** The server ended the session for good (a terminal close code, e.g. 4004 forced logout). */
export class CloseError extends Error {
    constructor(code, reason) {
        super(`parley: connection closed for good (${code}${reason ? ' ' + reason : ''})`);
        this.name = 'CloseError';
        this.code = code;
        this.reason = reason;
    }
}
/**
 * The connection was lost before the reply to a request that is not repeated
 * (recall, ping, and sends that are never stored: ROUTE_ONLINE, directed, room).
 */
export class ConnectionLostError extends Error {
    constructor() {
        super('parley: connection lost before the reply');
        this.name = 'ConnectionLostError';
    }
}
/** The client was closed (or stopped after a terminal failure). */
export class ClosedError extends Error {
    constructor(cause) {
        super(cause ? `parley: client stopped: ${cause.message}` : 'parley: client closed');
        this.name = 'ClosedError';
    }
}
/** A request did not get its reply in time (or its AbortSignal fired). */
export class TimeoutError extends Error {
    constructor(what) {
        super(`parley: ${what}`);
        this.name = 'TimeoutError';
    }
}
/** isCode reports whether err is a ParleyError with the given code. */
export function isCode(err, code) {
    return err instanceof ParleyError && err.code === code;
}
/** A REST failure as a ParleyError (code: the Easemob error string). */
export function restError(status, body) {
    const code = typeof body?.error === 'string' ? body.error : `http_${status}`;
    const msg = body?.error_description ?? body?.message ?? `HTTP ${status}`;
    return new ParleyError(code, msg, status);
}
