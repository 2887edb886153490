/**
 * The transport seam: the client needs a text-frame WebSocket and nothing
 * else. Browsers use the global WebSocket (browserSocket), Node 20 the small
 * RFC 6455 client in `@parley/sdk/node`, mini-programs wx.connectSocket
 * (`@parley/sdk/miniprogram`). Any other implementation fits.
 */
export interface SocketHandlers {
  /** The handshake finished. */
  open(): void;
  /** One text frame (one JSON object). */
  message(data: string): void;
  /** The connection ended: called exactly once, also after a failed handshake (code 1006). */
  close(code: number, reason: string): void;
}

export interface Socket {
  send(data: string): void;
  /** Starts the closing handshake; handlers.close follows. */
  close(code?: number, reason?: string): void;
}

export type SocketFactory = (url: string, handlers: SocketHandlers) => Socket;

/** The standard WebSocket of browsers (and of any runtime that has a global WebSocket). */
export const browserSocket: SocketFactory = (url, h) => {
  const WS = (globalThis as any).WebSocket;
  if (typeof WS !== 'function') {
    throw new Error('parley: no global WebSocket; in Node use `@parley/sdk/node` (nodeSocket)');
  }
  const ws = new WS(url);
  let ended = false;
  const end = (code: number, reason: string) => {
    if (ended) return;
    ended = true;
    h.close(code, reason);
  };
  ws.onopen = () => h.open();
  ws.onmessage = (ev: { data: unknown }) => {
    if (typeof ev.data === 'string') h.message(ev.data);
  };
  ws.onclose = (ev: { code: number; reason: string }) => end(ev.code, ev.reason);
  ws.onerror = () => {
    // A close event always follows an error event in browsers.
  };
  return {
    send: (data) => ws.send(data),
    close: (code = 1000, reason = '') => {
      try {
        ws.close(code, reason);
      } catch {
        ws.close();
      }
    },
  };
};

/** The fetch of the runtime (browsers, Node 18+). */
export interface HttpRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  /** JSON-serialisable body (sent as application/json). */
  json?: unknown;
}

export interface HttpResponse {
  status: number;
  /** The parsed JSON body, or undefined when it was not JSON. */
  body: any;
}

export type HttpClient = (req: HttpRequest) => Promise<HttpResponse>;

export const fetchHttp: HttpClient = async (req) => {
  const f = (globalThis as any).fetch;
  if (typeof f !== 'function') throw new Error('parley: no global fetch; pass Config.http');
  const headers: Record<string, string> = { ...(req.headers ?? {}) };
  let body: string | undefined;
  if (req.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(req.json);
  }
  const res = await f(req.url, { method: req.method, headers, body });
  const text = await res.text();
  let parsed: any;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed };
};
