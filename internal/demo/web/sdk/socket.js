/** The standard WebSocket of browsers (and of any runtime that has a global WebSocket). */
export const browserSocket = (url, h) => {
    const WS = globalThis.WebSocket;
    if (typeof WS !== 'function') {
        throw new Error('parley: no global WebSocket; in Node use `@parley/sdk/node` (nodeSocket)');
    }
    const ws = new WS(url);
    let ended = false;
    const end = (code, reason) => {
        if (ended)
            return;
        ended = true;
        h.close(code, reason);
    };
    ws.onopen = () => h.open();
    ws.onmessage = (ev) => {
        if (typeof ev.data === 'string')
            h.message(ev.data);
    };
    ws.onclose = (ev) => end(ev.code, ev.reason);
    ws.onerror = () => {
        // A close event always follows an error event in browsers.
    };
    return {
        send: (data) => ws.send(data),
        close: (code = 1000, reason = '') => {
            try {
                ws.close(code, reason);
            }
            catch {
                ws.close();
            }
        },
    };
};
export const fetchHttp = async (req) => {
    const f = globalThis.fetch;
    if (typeof f !== 'function')
        throw new Error('parley: no global fetch; pass Config.http');
    const headers = { ...(req.headers ?? {}) };
    let body;
    if (req.json !== undefined) {
        headers['Content-Type'] = 'application/json';
        body = JSON.stringify(req.json);
    }
    const res = await f(req.url, { method: req.method, headers, body });
    const text = await res.text();
    let parsed;
    try {
        parsed = text ? JSON.parse(text) : undefined;
    }
    catch {
        parsed = undefined;
    }
    return { status: res.status, body: parsed };
};
