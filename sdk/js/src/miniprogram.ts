// WeChat-style mini-program adapters (wx.connectSocket, wx.request,
// wx.uploadFile). Type-checked only: they are not tested against a real
// mini-program runtime. Other platforms with the same API (my., tt., swan.)
// can pass their global object as `api`.
import { Client, type Config } from './client.js';

export * from './index.js';
import type { Uploader } from './files.js';
import type { HttpClient, SocketFactory } from './socket.js';
import { StorageState } from './state.js';

/** The subset of the wx API the adapters use. */
export interface WxAPI {
  connectSocket(opts: { url: string; header?: Record<string, string>; fail?: (e: any) => void }): WxSocketTask;
  request(opts: {
    url: string; method: string; header?: Record<string, string>; data?: unknown; dataType?: string;
    success: (res: { statusCode: number; data: any }) => void; fail: (e: any) => void;
  }): void;
  uploadFile?(opts: {
    url: string; filePath: string; name: string; header?: Record<string, string>;
    success: (res: { statusCode: number; data: string }) => void; fail: (e: any) => void;
  }): { onProgressUpdate?(fn: (p: { totalBytesSent: number; totalBytesExpectedToSend: number }) => void): void; abort?(): void };
  getStorageSync?(key: string): any;
  setStorageSync?(key: string, value: any): void;
}

export interface WxSocketTask {
  send(opts: { data: string; fail?: (e: any) => void }): void;
  close(opts: { code?: number; reason?: string }): void;
  onOpen(fn: () => void): void;
  onMessage(fn: (res: { data: string | ArrayBuffer }) => void): void;
  onClose(fn: (res: { code: number; reason: string }) => void): void;
  onError(fn: (e: any) => void): void;
}

function wxGlobal(): WxAPI {
  const wx = (globalThis as any).wx;
  if (!wx) throw new Error('parley: no global wx; pass the platform API object');
  return wx;
}

/** A SocketFactory over wx.connectSocket. */
export function wxSocket(api: WxAPI = wxGlobal()): SocketFactory {
  return (url, h) => {
    let ended = false;
    const end = (code: number, reason: string) => {
      if (ended) return;
      ended = true;
      h.close(code, reason);
    };
    const task = api.connectSocket({ url, fail: (e) => end(1006, String(e?.errMsg ?? e)) });
    task.onOpen(() => h.open());
    task.onMessage((res) => {
      if (typeof res.data === 'string') h.message(res.data);
    });
    task.onClose((res) => end(res.code, res.reason));
    task.onError((e) => end(1006, String(e?.errMsg ?? 'socket error')));
    return {
      send: (data) => task.send({ data, fail: () => end(1006, 'send failed') }),
      close: (code = 1000, reason = '') => task.close({ code, reason }),
    };
  };
}

/** An HttpClient over wx.request. */
export function wxHttp(api: WxAPI = wxGlobal()): HttpClient {
  return (req) =>
    new Promise((resolve, reject) => {
      api.request({
        url: req.url, method: req.method, data: req.json, dataType: 'json',
        header: { ...(req.json !== undefined ? { 'Content-Type': 'application/json' } : {}), ...(req.headers ?? {}) },
        success: (res) => resolve({ status: res.statusCode, body: res.data }),
        fail: (e) => reject(new Error(`parley: request failed: ${e?.errMsg ?? e}`)),
      });
    });
}

/** An Uploader over wx.uploadFile; `file` is a temporary file path (e.g. from wx.chooseMedia). */
export function wxUploader(api: WxAPI = wxGlobal()): Uploader {
  return (req) =>
    new Promise((resolve, reject) => {
      if (!api.uploadFile) return reject(new Error('parley: this platform has no uploadFile'));
      if (typeof req.file !== 'string') return reject(new Error('parley: wxUploader takes a file path'));
      const task = api.uploadFile({
        url: req.url, filePath: req.file, name: 'file', header: req.headers,
        success: (res) => {
          let body: any;
          try {
            body = JSON.parse(res.data);
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode, body });
        },
        fail: (e) => reject(new Error(`parley: upload failed: ${e?.errMsg ?? e}`)),
      });
      task.onProgressUpdate?.((p) => req.onProgress?.(p.totalBytesSent, p.totalBytesExpectedToSend));
      req.signal?.addEventListener('abort', () => task.abort?.());
    });
}

/** A State in wx storage (synchronous), under one key prefix. */
export function wxState(api: WxAPI = wxGlobal(), prefix = 'parley:'): StorageState {
  return new StorageState(
    {
      getItem: (k) => {
        const v = api.getStorageSync?.(k);
        return v === undefined || v === '' ? null : String(v);
      },
      setItem: (k, v) => api.setStorageSync?.(k, v),
    },
    prefix,
  );
}

/** A Client wired for mini-programs. */
export function createClient(config: Config, api: WxAPI = wxGlobal()): Client {
  const c = new Client({ socket: wxSocket(api), http: wxHttp(api), ...config });
  c.files.uploader = wxUploader(api);
  return c;
}
