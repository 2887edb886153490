// Message bodies, one per message type (docs/protocol.md, "Message types").
// Field names are Easemob's, as on the wire.
/**
 * Checks a body locally against the rules the server enforces (required
 * fields and their types) so that a malformed send fails before it is sent.
 * Returns an error message, or '' when the body is fine.
 */
export function checkBody(type, body) {
    if (body === null || typeof body !== 'object' || Array.isArray(body))
        return `${type} body must be an object`;
    const str = (f, required = true) => {
        const v = body[f];
        if (v === undefined)
            return required ? `${type} body needs ${f}` : '';
        return typeof v === 'string' ? '' : `${type} body: ${f} must be a string`;
    };
    const url = (f, required = true) => {
        const e = str(f, required);
        if (e || body[f] === undefined)
            return e;
        return /^https?:\/\//i.test(body[f]) ? '' : `${type} body: ${f} must be an absolute http(s) URL`;
    };
    const num = (f, lo, hi) => {
        const v = body[f];
        if (v === undefined)
            return `${type} body needs ${f}`;
        const n = typeof v === 'string' ? Number(v) : v;
        if (typeof n !== 'number' || !Number.isFinite(n) || (typeof v === 'string' && v.trim() === '')) {
            return `${type} body: ${f} must be a number`;
        }
        return n < lo || n > hi ? `${type} body: ${f} must be within ${lo}…${hi}` : '';
    };
    switch (type) {
        case 'txt': return str('msg');
        case 'cmd': return str('action') || (body.action.length > 256 ? 'cmd body: action is longer than 256' : '');
        case 'custom':
            if (body.customEvent !== undefined && !/^[a-zA-Z0-9\-_/.]{1,32}$/.test(String(body.customEvent))) {
                return 'custom body: customEvent must match [a-zA-Z0-9-_/.]{1,32}';
            }
            return '';
        case 'img':
        case 'audio':
        case 'video':
        case 'combine': return url('url');
        case 'file': return url('url') || str('filename');
        case 'loc': return num('lat', -90, 90) || num('lng', -180, 180);
        default: return `unknown message type ${type}`;
    }
}
/** decodeBody returns the item's body typed by its message type (undefined for a recalled message). */
export function decodeBody(item) {
    if (!item.type || item.body === undefined || item.body === null)
        return undefined;
    return { type: item.type, body: item.body };
}
