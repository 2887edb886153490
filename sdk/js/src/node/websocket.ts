// A minimal RFC 6455 WebSocket client over node:http's upgrade, for Node 20
// (which has no global WebSocket): text frames, client masking, ping/pong,
// the closing handshake and fragmented messages. Binary messages are not
// used by the protocol and are ignored.
import { createHash, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import type { Duplex } from 'node:stream';
import type { Socket, SocketFactory, SocketHandlers } from '../socket.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const maxMessage = 16 << 20;

/** Encodes one masked client frame. */
export function encodeFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const len = payload.length;
  let head: Buffer;
  if (len < 126) {
    head = Buffer.alloc(2);
    head[1] = 0x80 | len;
  } else if (len < 65536) {
    head = Buffer.alloc(4);
    head[1] = 0x80 | 126;
    head.writeUInt16BE(len, 2);
  } else {
    head = Buffer.alloc(10);
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  head[0] = (fin ? 0x80 : 0) | opcode;
  const mask = randomBytes(4);
  const body = Buffer.alloc(len);
  for (let i = 0; i < len; i++) body[i] = payload[i] ^ mask[i & 3];
  return Buffer.concat([head, mask, body]);
}

export interface DecodedFrame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

/** Incremental frame parser: push bytes, get complete frames. Throws on a protocol violation. */
export class FrameParser {
  private buf = Buffer.alloc(0);
  push(chunk: Buffer): DecodedFrame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: DecodedFrame[] = [];
    for (;;) {
      if (this.buf.length < 2) return out;
      const b0 = this.buf[0];
      const b1 = this.buf[1];
      if (b0 & 0x70) throw new Error('reserved bits set');
      let len = b1 & 0x7f;
      let off = 2;
      if (len === 126) {
        if (this.buf.length < 4) return out;
        len = this.buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return out;
        const big = this.buf.readBigUInt64BE(2);
        if (big > BigInt(maxMessage)) throw new Error('frame too large');
        len = Number(big);
        off = 10;
      }
      const masked = (b1 & 0x80) !== 0;
      const maskOff = off;
      if (masked) off += 4;
      if (this.buf.length < off + len) return out;
      let payload = this.buf.subarray(off, off + len);
      if (masked) {
        const m = this.buf.subarray(maskOff, maskOff + 4);
        payload = Buffer.from(payload.map((x, i) => x ^ m[i & 3]));
      } else {
        payload = Buffer.from(payload);
      }
      out.push({ fin: (b0 & 0x80) !== 0, opcode: b0 & 0x0f, payload });
      this.buf = this.buf.subarray(off + len);
    }
  }
}

export interface NodeSocketOptions {
  /** Extra handshake headers (e.g. Origin). */
  headers?: Record<string, string>;
  /** TLS options for wss:// (e.g. ca). */
  tls?: https.RequestOptions;
}

/** nodeSocket returns a SocketFactory for Node 20. */
export function nodeSocket(opts: NodeSocketOptions = {}): SocketFactory {
  return (url, h) => dial(url, h, opts);
}

function dial(url: string, h: SocketHandlers, opts: NodeSocketOptions): Socket {
  const u = new URL(url);
  const secure = u.protocol === 'wss:';
  const key = randomBytes(16).toString('base64');
  const expect = createHash('sha1').update(key + GUID).digest('base64');
  let sock: Duplex | null = null;
  let ended = false;
  let closeSent = false;
  let pendingClose: { code: number; reason: string } | null = null;
  const end = (code: number, reason: string) => {
    if (ended) return;
    ended = true;
    sock?.destroy();
    h.close(code, reason);
  };
  const reqOpts: http.RequestOptions = {
    host: u.hostname,
    port: u.port || (secure ? 443 : 80),
    path: u.pathname + u.search,
    headers: {
      Connection: 'Upgrade',
      Upgrade: 'websocket',
      'Sec-WebSocket-Key': key,
      'Sec-WebSocket-Version': '13',
      ...(opts.headers ?? {}),
    },
    ...(secure ? opts.tls ?? {} : {}),
  };
  const req = (secure ? https : http).request(reqOpts);
  req.on('response', (res) => {
    res.resume();
    end(1006, `handshake refused: HTTP ${res.statusCode}`);
  });
  req.on('error', (err) => end(1006, err.message));
  req.on('upgrade', (res, s: Duplex, head: Buffer) => {
    if (res.headers['sec-websocket-accept'] !== expect) {
      s.destroy();
      end(1006, 'bad Sec-WebSocket-Accept');
      return;
    }
    sock = s;
    (s as any).setNoDelay?.(true);
    const parser = new FrameParser();
    let fragments: Buffer[] | null = null;
    let fragOpcode = 0;
    let fragSize = 0;
    const write = (opcode: number, payload: Buffer) => {
      if (!ended && s.writable) s.write(encodeFrame(opcode, payload));
    };
    const onData = (chunk: Buffer) => {
      let frames: DecodedFrame[];
      try {
        frames = parser.push(chunk);
      } catch (err) {
        end(1002, String((err as Error).message));
        return;
      }
      for (const f of frames) {
        switch (f.opcode) {
          case 0x0: // continuation
            if (!fragments) return end(1002, 'unexpected continuation frame');
            fragments.push(f.payload);
            fragSize += f.payload.length;
            if (fragSize > maxMessage) return end(1009, 'message too large');
            if (f.fin) {
              const data = Buffer.concat(fragments);
              const op = fragOpcode;
              fragments = null;
              if (op === 0x1) h.message(data.toString('utf8'));
            }
            break;
          case 0x1: // text
          case 0x2: // binary (ignored)
            if (fragments) return end(1002, 'new message inside a fragmented one');
            if (f.fin) {
              if (f.opcode === 0x1) h.message(f.payload.toString('utf8'));
            } else {
              fragments = [f.payload];
              fragOpcode = f.opcode;
              fragSize = f.payload.length;
            }
            break;
          case 0x8: { // close
            const code = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005;
            const reason = f.payload.length > 2 ? f.payload.subarray(2).toString('utf8') : '';
            if (!closeSent) {
              closeSent = true;
              write(0x8, f.payload.length >= 2 ? f.payload.subarray(0, 2) : Buffer.alloc(0));
            }
            s.end();
            end(code, reason);
            return;
          }
          case 0x9: // ping
            write(0xa, f.payload);
            break;
          case 0xa: // pong
            break;
          default:
            return end(1002, `unknown opcode ${f.opcode}`);
        }
      }
    };
    s.on('data', onData);
    s.on('error', () => end(1006, 'socket error'));
    s.on('close', () => end(1006, 'connection lost'));
    h.open();
    if (head && head.length) onData(head);
    if (pendingClose) api.close(pendingClose.code, pendingClose.reason);
  });
  req.end();

  const api: Socket = {
    send(data: string) {
      if (!sock || ended) throw new Error('parley: websocket is not open');
      if (!closeSent) sock.write(encodeFrame(0x1, Buffer.from(data, 'utf8')));
    },
    close(code = 1000, reason = '') {
      if (ended) return;
      if (!sock) {
        pendingClose = { code, reason };
        req.destroy();
        end(code, reason);
        return;
      }
      if (closeSent) return;
      closeSent = true;
      const p = Buffer.alloc(2 + Buffer.byteLength(reason));
      p.writeUInt16BE(code, 0);
      p.write(reason, 2, 'utf8');
      sock.write(encodeFrame(0x8, p));
      // The server answers with its close frame; if it does not, give up.
      const s = sock;
      setTimeout(() => {
        s.destroy();
        end(code, reason);
      }, 2000).unref();
    },
  };
  return api;
}
