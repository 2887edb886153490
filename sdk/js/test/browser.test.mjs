// The browser build in a real headless Chromium (skipped when there is no
// Chromium: $PARLEY_CHROMIUM, default /usr/bin/chromium). The page is served
// by a small server that also proxies the API and the WebSocket to parley,
// so REST calls are same-origin (parley sends no CORS headers).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startServer } from './harness.mjs';

const chromium = process.env.PARLEY_CHROMIUM || '/usr/bin/chromium';
const root = fileURLToPath(new URL('..', import.meta.url));
let server;
let web;
let result;
const apps = [];
const tunnels = new Set();

const page = `<!doctype html><meta charset="utf-8"><title>parley sdk</title><script type="module">
import { Client, imageBody } from '/dist/esm/index.js';
const q = new URLSearchParams(location.search);
const report = (r) => fetch('/result', { method: 'POST', body: JSON.stringify(r) });
try {
  const c = new Client({ baseURL: location.origin, org: q.get('org'), app: q.get('app'), username: 'alice',
    password: q.get('pw'), resource: 'web_1', platform: 'web' });
  const got = [];
  c.on('message', ({ item }) => got.push(item));
  await c.connect();
  const ack = await c.sendText('bob', 'from the browser');
  const progress = [];
  const blob = new Blob([new Uint8Array(20000).fill(9)], { type: 'application/octet-stream' });
  const f = await c.files.upload(new File([blob], 'b.bin'), { onProgress: (s, t) => progress.push([s, t]) });
  const down = await c.files.download(f.url);
  await c.send({ to: 'bob', type: 'file', body: { url: f.url, filename: f.filename } });
  const deadline = Date.now() + 10000;
  while (got.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  c.close();
  await report({ ok: true, ua: navigator.userAgent, ack, seqs: got.map((m) => m.seq), froms: got.map((m) => m.from),
    file: f, progress, downloaded: down.data.length, xhr: typeof XMLHttpRequest });
} catch (e) {
  await report({ ok: false, error: String(e && e.stack || e) });
}
</script>`;

before(async () => {
  if (!existsSync(chromium)) return;
  server = await startServer();
  const target = new URL(server.url);
  web = createServer((req, res) => {
    if (req.url === '/result') {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        result?.(JSON.parse(body));
        res.end();
      });
      return;
    }
    if (req.url.startsWith('/page.html')) {
      res.writeHead(200, { 'Content-Type': 'text/html' }).end(page);
      return;
    }
    if (req.url.startsWith('/dist/')) {
      const path = normalize(join(root, req.url.split('?')[0]));
      if (!path.startsWith(join(root, 'dist')) || !existsSync(path)) return res.writeHead(404).end();
      res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(readFileSync(path));
      return;
    }
    const p = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    p.on('error', () => res.writeHead(502).end());
    req.pipe(p);
  });
  web.on('upgrade', (req, sock, head) => {
    const up = connect(Number(target.port), target.hostname, () => {
      let raw = `${req.method} ${req.url} HTTP/1.1\r\n`;
      for (let i = 0; i < req.rawHeaders.length; i += 2) raw += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
      up.write(raw + '\r\n');
      if (head.length) up.write(head);
      up.pipe(sock);
      sock.pipe(up);
    });
    tunnels.add(up).add(sock);
    up.on('error', () => sock.destroy());
    sock.on('error', () => up.destroy());
  });
  await new Promise((r) => web.listen(0, '127.0.0.1', r));
});
after(async () => {
  for (const a of apps) a.closeAll();
  for (const s of tunnels) s.destroy();
  web?.closeAllConnections();
  web?.close();
  await server?.stop();
});

test('the ESM build in headless Chromium: password sign-in, WebSocket, send and receive, XHR upload, download', { skip: !existsSync(chromium) && `no Chromium at ${chromium}` }, async () => {
  const a = await server.app(['alice', 'bob']);
  apps.push(a);
  const { c: bob, log: bl } = await a.dial('bob', 'b1');
  const got = new Promise((r) => (result = r));
  const profile = mkdtempSync(join(tmpdir(), 'parley-sdk-chromium-'));
  const url = `http://127.0.0.1:${web.address().port}/page.html?org=${a.org}&app=${a.name}&pw=secret-password`;
  const browser = spawn(chromium, ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run',
    `--user-data-dir=${profile}`, '--enable-logging=stderr', '--v=0', url], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let log = '';
  browser.stderr.on('data', (c) => (log += c));
  const exited = new Promise((r) => browser.once('exit', r));
  try {
    await bl.waitFor("the browser's message", (l) => l.messages().some((m) => m.body?.msg === 'from the browser'), 30000);
    await bob.sendText('alice', 'to the browser');
    let timer;
    const r = await Promise.race([got, new Promise((_, rej) => (timer = setTimeout(() => rej(new Error('no result from the page')), 30000)))])
      .finally(() => clearTimeout(timer));
    assert.ok(r.ok, r.error);
    assert.equal(r.xhr, 'function');
    assert.equal(r.ack.seq, 1);
    assert.deepEqual(r.seqs, [1, 2, 3]);
    assert.deepEqual(r.froms, ['alice', 'bob', 'alice']);
    assert.equal(r.file.file_length, 20000);
    assert.equal(r.downloaded, 20000);
    assert.ok(r.progress.length >= 1);
    assert.deepEqual(r.progress[r.progress.length - 1], [r.progress[r.progress.length - 1][1], r.progress[r.progress.length - 1][1]]);
    await bl.waitFor("the browser's file message", (l) => l.messages().some((m) => m.type === 'file'));
  } catch (err) {
    err.message += `\nchromium log:\n${log.split('\n').filter((l) => /CONSOLE|ERROR|error/i.test(l)).slice(-20).join('\n')}`;
    throw err;
  } finally {
    // Chromium's helper processes share its process group: end them all.
    try {
      process.kill(-browser.pid, 'SIGKILL');
    } catch {
      browser.kill('SIGKILL');
    }
    await exited;
    browser.stderr.destroy();
    rmSync(profile, { recursive: true, force: true, maxRetries: 5 });
  }
});
