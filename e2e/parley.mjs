// The server under test: the real `parley` binary (built with go build
// unless PARLEY_BIN names one) on a random port with a temporary data
// directory, plus small REST and WebSocket clients for what the test needs
// from outside the console (an app token, users, messages, a device).

import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// startParley builds and starts the server; stop() ends it and removes its
// data. Its log goes to <artifacts>/parley.log.
export async function startParley({ artifacts, ownerPassword }) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-e2e-'));
  let bin = process.env.PARLEY_BIN;
  if (!bin) {
    bin = path.join(tmp, 'parley');
    execFileSync('go', ['build', '-o', bin, './cmd/parley'], { cwd: ROOT, stdio: 'inherit' });
  }
  const data = path.join(tmp, 'data');
  fs.mkdirSync(data);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  // Only the settings given here: the suite's PARLEY_TEST_* variables and
  // the like are not the server's business.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PARLEY_')));
  Object.assign(env, { PARLEY_CONSOLE_OWNER_PASSWORD: ownerPassword, PARLEY_LOG_LEVEL: 'info' });
  const log = fs.openSync(path.join(artifacts, 'parley.log'), 'w');
  const proc = spawn(bin, ['serve', '--listen', `127.0.0.1:${port}`, '--data', data], { env, stdio: ['ignore', log, log] });
  let exited = null;
  proc.on('exit', (code, signal) => { exited = { code, signal }; });

  for (let i = 0; ; i++) {
    if (exited) throw new Error(`parley exited at start (${JSON.stringify(exited)}); see ${artifacts}/parley.log`);
    try {
      const res = await fetch(`${base}/healthz`);
      if (res.ok) break;
    } catch { /* not listening yet */ }
    if (i > 300) throw new Error('parley did not answer /healthz within 30 s');
    await sleep(100);
  }

  return {
    base,
    async stop() {
      if (!exited) {
        proc.kill('SIGTERM');
        for (let i = 0; i < 100 && !exited; i++) await sleep(100);
        if (!exited) proc.kill('SIGKILL');
      }
      fs.closeSync(log);
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}

// Rest calls one app's REST API (docs/rest.md) with its app token.
export class Rest {
  constructor(base, org, app) {
    this.base = base;
    this.prefix = `${base}/${org}/${app}`;
    this.token = '';
  }

  async call(method, p, body, { token = this.token, raw = false } = {}) {
    const headers = {};
    if (token) headers.Authorization = `Bearer ${token}`;
    let payload = body;
    if (body !== undefined && !(body instanceof FormData)) {
      headers['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const res = await fetch(this.prefix + p, { method, headers, body: payload });
    const data = await res.json().catch(() => null);
    if (raw) return { status: res.status, data };
    if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(data)}`);
    return data;
  }

  async appToken(clientId, clientSecret) {
    const r = await this.call('POST', '/token', { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }, { token: '' });
    this.token = r.access_token;
  }

  async userToken(username, password) {
    const r = await this.call('POST', '/token', { grant_type: 'password', username, password }, { token: '' });
    return r.access_token;
  }
}

// connect opens a device over the WebSocket protocol (docs/protocol.md) and
// signs it in. Node's WebSocket needs --experimental-websocket on Node 20
// (the package's test script passes it).
export async function connect(base, token, resource) {
  if (typeof WebSocket === 'undefined') throw new Error('no global WebSocket: run node with --experimental-websocket');
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/ws?v=1`);
  const frames = [];
  const waiters = new Set();
  ws.addEventListener('message', (e) => {
    const f = JSON.parse(e.data);
    frames.push(f);
    for (const w of waiters) if (w.pred(f)) { waiters.delete(w); w.resolve(f); }
  });
  await new Promise((resolve, reject) => {
    ws.addEventListener('open', resolve, { once: true });
    ws.addEventListener('error', () => reject(new Error('WebSocket did not open')), { once: true });
  });
  // next resolves with the first frame (received so far or later) for which
  // pred holds.
  const next = (pred, ms = 10000) => {
    const seen = frames.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve };
      waiters.add(w);
      setTimeout(() => { if (waiters.delete(w)) reject(new Error(`no matching frame in ${ms} ms; got ${JSON.stringify(frames)}`)); }, ms);
    });
  };
  ws.send(JSON.stringify({ t: 'auth', id: 'a1', token, resource, platform: 'web', device_name: 'e2e' }));
  const ok = await next((f) => f.id === 'a1');
  if (ok.t !== 'auth_ok') throw new Error(`auth: ${JSON.stringify(ok)}`);
  const ping = setInterval(() => ws.send(JSON.stringify({ t: 'ping' })), 15000);
  return {
    frames,
    next,
    close() { clearInterval(ping); ws.close(); },
  };
}

// png makes a w×h RGB PNG with a diagonal gradient, for an upload.
export function png(w, h) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const rows = [];
  for (let y = 0; y < h; y++) {
    const row = Buffer.alloc(1 + w * 3);
    for (let x = 0; x < w; x++) {
      row[1 + x * 3] = Math.round((x / w) * 255);
      row[2 + x * 3] = Math.round((y / h) * 255);
      row[3 + x * 3] = 200;
    }
    rows.push(row);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
