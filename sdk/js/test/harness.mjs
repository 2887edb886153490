// Starts a real parley server for the tests: builds ./cmd/parley (or uses
// $PARLEY_BIN), serves on a free port with SQLite in a temporary directory,
// creates apps with `parley app create` and users over REST.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { createClient } from '../dist/esm/node/index.js';

const run = promisify(execFile);
const repo = resolve(fileURLToPath(import.meta.url), '../../../..');
export const password = 'secret-password';

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
    s.on('error', rej);
  });
}

let appSeq = 0;

export async function startServer() {
  const dir = mkdtempSync(join(tmpdir(), 'parley-sdk-js-'));
  let bin = process.env.PARLEY_BIN;
  if (!bin) {
    bin = join(dir, 'parley');
    await run('go', ['build', '-o', bin, './cmd/parley'], { cwd: repo, maxBuffer: 16 << 20 });
  }
  const data = join(dir, 'data');
  const port = await freePort();
  const env = { ...process.env, PARLEY_CONSOLE_OWNER_PASSWORD: 'console-owner-password-for-tests' };
  const proc = spawn(bin, ['serve', '--listen', `127.0.0.1:${port}`, '--data', data], {
    env, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  proc.stderr.on('data', (c) => {
    log += c;
    if (log.length > 200000) log = log.slice(-100000);
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`parley serve exited ${proc.exitCode}: ${log}`);
    try {
      await fetch(url + '/');
      break;
    } catch {
      if (Date.now() > deadline) throw new Error('parley serve did not come up: ' + log);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const server = {
    url, dir, data, bin, env,
    log: () => log,
    async stop() {
      proc.kill('SIGTERM');
      await new Promise((r) => (proc.exitCode !== null ? r() : proc.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    },
    /** Creates an app (settings: KEY=VALUE strings) with users; returns its helper. */
    async app(users, settings = []) {
      const name = `js${++appSeq}`;
      const args = ['app', 'create', '--data', data];
      for (const s of settings) args.push('--setting', s);
      args.push('acme', name);
      const { stdout } = await run(bin, args, { env });
      const creds = JSON.parse(stdout);
      const tok = await rest(url, 'POST', `/acme/${name}/token`, null, {
        grant_type: 'client_credentials', client_id: creds.client_id, client_secret: creds.client_secret,
      });
      if (tok.status !== 200) throw new Error(`app token: ${tok.status} ${JSON.stringify(tok.body)}`);
      const a = new App(server, name, tok.body.access_token);
      if (users.length) {
        const r = await a.rest('POST', '/users', users.map((u) => ({ username: u, password })));
        if (r.status !== 200) throw new Error(`register users: ${r.status} ${JSON.stringify(r.body)}`);
      }
      return a;
    },
  };
  return server;
}

async function rest(url, method, path, token, body) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(url + path, { method, headers, body: body === undefined || body === null ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: res.status, body: parsed };
}

class App {
  constructor(server, name, token) {
    this.server = server;
    this.org = 'acme';
    this.name = name;
    this.token = token;
    this.clients = [];
  }
  rest(method, path, body) {
    return rest(this.server.url, method, `/${this.org}/${this.name}${path}`, this.token, body);
  }
  config(user, resource, extra = {}) {
    return {
      baseURL: this.server.url, org: this.org, app: this.name, username: user, password, resource, platform: 'test',
      backoffMin: 20, backoffMax: 200, requestTimeout: 10000,
      logger: { debug() {}, info() {}, warn() {} },
      ...extra,
    };
  }
  /** Connects a device and records its events; closed by closeAll. */
  async dial(user, resource, extra = {}) {
    const c = createClient(this.config(user, resource, extra));
    const log = new EventLog(c);
    this.clients.push(c);
    await c.connect();
    return { c, log };
  }
  closeAll() {
    for (const c of this.clients) c.close();
  }
}

/** Records everything a Client emits, in order. */
export class EventLog {
  constructor(c) {
    this.events = [];
    this.waiters = [];
    for (const name of ['message', 'recall', 'edit', 'groupNotice', 'receipt', 'conversation', 'connection', 'event',
      'presence', 'groupAck', 'roomMessage', 'roomEvent', 'broadcast']) {
      c.on(name, (e) => {
        this.events.push({ name, e });
        for (const w of this.waiters.slice()) w();
      });
    }
  }
  of(name) {
    return this.events.filter((x) => x.name === name).map((x) => x.e);
  }
  messages() {
    return this.of('message').map((m) => m.item);
  }
  /** Resolves with the events once pred(events) is true; rejects after timeoutMs. */
  waitFor(what, pred, timeoutMs = 10000) {
    return new Promise((resolve, reject) => {
      const check = () => {
        let ok = false;
        try {
          ok = pred(this);
        } catch (err) {
          done();
          reject(err);
          return;
        }
        if (ok) {
          done();
          resolve(this);
        }
      };
      const t = setTimeout(() => {
        done();
        reject(new Error(`timed out waiting for ${what}; events: ${JSON.stringify(this.events.map((x) => x.name + ':' + (x.e.item?.seq ?? x.e.state ?? x.e.kind ?? x.e.type ?? '')))}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(t);
        const i = this.waiters.indexOf(check);
        if (i >= 0) this.waiters.splice(i, 1);
      };
      this.waiters.push(check);
      check();
    });
  }
}

export const hasMessages = (n) => (l) => l.messages().length >= n;
export const seqs = (items) => items.map((i) => i.seq);
export const upTo = (n) => Array.from({ length: n }, (_, i) => i + 1);
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * A socket factory wrapper for fault injection: `offline` makes dials fail,
 * `dropAck(pred)` swallows the reply to a matching request and drops the
 * connection with it, `drop()` drops the current connection.
 */
export function faultySocket(inner) {
  const f = {
    offline: false,
    current: null,
    dropReplyTo: null,
    factory(url, h) {
      if (f.offline) {
        setTimeout(() => h.close(1006, 'offline'), 0);
        return { send() {}, close() {} };
      }
      const sent = new Map();
      const sock = inner(url, {
        open: () => h.open(),
        close: (code, reason) => h.close(code, reason),
        message: (data) => {
          const frame = JSON.parse(data);
          const req = frame.id !== undefined ? sent.get(frame.id) : undefined;
          if (req && f.dropReplyTo && f.dropReplyTo(req)) {
            f.dropReplyTo = null;
            sock.close(1000, 'reply dropped');
            return;
          }
          h.message(data);
        },
      });
      const wrapped = {
        send(data) {
          const frame = JSON.parse(data);
          if (frame.id !== undefined) sent.set(frame.id, frame);
          sock.send(data);
        },
        close: (code, reason) => sock.close(code, reason),
      };
      f.current = wrapped;
      return wrapped;
    },
    drop() {
      f.current?.close(1000, 'dropped by the test');
    },
  };
  return f;
}
