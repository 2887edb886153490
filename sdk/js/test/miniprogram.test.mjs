// The mini-program adapters against a FAKE wx object modelled on the
// documented API (wx.connectSocket, wx.request, wx.uploadFile, storage),
// backed by Node, talking to a real server. This checks the adapters' logic,
// not a real mini-program runtime.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createClient, imageBody, wxState } from '../dist/esm/miniprogram.js';
import { nodeSocket, nodeUploader } from '../dist/esm/node/index.js';
import { EventLog, startServer } from './harness.mjs';

let server;
const clients = [];
const apps = [];
before(async () => {
  server = await startServer();
});
after(async () => {
  for (const c of clients) c.close();
  for (const a of apps) a.closeAll();
  await server?.stop();
});

function fakeWx() {
  const storage = new Map();
  return {
    storage,
    connectSocket({ url }) {
      const handlers = {};
      const sock = nodeSocket()(url, {
        open: () => handlers.open?.(),
        message: (data) => handlers.message?.({ data }),
        close: (code, reason) => handlers.close?.({ code, reason }),
      });
      return {
        send: ({ data, fail }) => {
          try {
            sock.send(data);
          } catch (e) {
            fail?.(e);
          }
        },
        close: ({ code, reason }) => sock.close(code, reason),
        onOpen: (f) => (handlers.open = f),
        onMessage: (f) => (handlers.message = f),
        onClose: (f) => (handlers.close = f),
        onError: (f) => (handlers.error = f),
      };
    },
    request({ url, method, header, data, success, fail }) {
      fetch(url, { method, headers: header, body: data === undefined ? undefined : JSON.stringify(data) })
        .then(async (res) => {
          const text = await res.text();
          let body = text;
          try {
            body = JSON.parse(text);
          } catch {
            // as text, like wx with dataType json on a non-JSON answer
          }
          success({ statusCode: res.status, data: body });
        })
        .catch((e) => fail({ errMsg: String(e) }));
    },
    uploadFile({ url, filePath, header, success, fail }) {
      let progress;
      nodeUploader({ url, headers: header, file: filePath, filename: filePath.split('/').pop(),
        onProgress: (sent, total) => progress?.({ totalBytesSent: sent, totalBytesExpectedToSend: total }) })
        .then((res) => success({ statusCode: res.status, data: JSON.stringify(res.body) }))
        .catch((e) => fail({ errMsg: String(e) }));
      return { onProgressUpdate: (f) => (progress = f), abort() {} };
    },
    getStorageSync: (k) => storage.get(k) ?? '',
    setStorageSync: (k, v) => storage.set(k, v),
  };
}

test('a client over the wx adapters sends, receives, uploads and resumes from wx storage', async () => {
  const a = await server.app(['alice', 'bob']);
  apps.push(a);
  const wx = fakeWx();
  const cfg = { ...a.config('alice', 'wx_1'), state: wxState(wx) };
  const alice = createClient(cfg, wx);
  clients.push(alice);
  const al = new EventLog(alice);
  await alice.connect();
  const { c: bob, log: bl } = await a.dial('bob', 'b1');

  await alice.sendText('bob', 'from the mini-program');
  await bob.sendText('alice', 'to the mini-program');
  await bl.waitFor("bob's message", (l) => l.messages().length >= 1);
  await al.waitFor("alice's messages", (l) => l.messages().length >= 2);
  assert.deepEqual(al.messages().map((m) => m.seq), [1, 2]);

  const path = join(server.dir, 'photo.bin');
  writeFileSync(path, Buffer.alloc(50_000, 7));
  const seen = [];
  const f = await alice.files.upload(path, { onProgress: (s, t) => seen.push([s, t]) });
  assert.equal(f.file_length, 50_000);
  assert.equal(f.filename, 'photo.bin');
  assert.deepEqual(seen[seen.length - 1], [50_000, 50_000]);
  await alice.send({ to: 'bob', type: 'file', body: { url: f.url, filename: f.filename } });
  assert.equal(imageBody(f).url, f.url);

  const tok = await alice.push.bindDevice('wx_1', 'none', '');
  assert.ok(Array.isArray(tok));

  alice.close();
  await bob.sendText('alice', 'while closed');
  const again = createClient(cfg, wx);
  clients.push(again);
  const al2 = new EventLog(again);
  await again.connect();
  await al2.waitFor('the message sent while closed', (l) => l.messages().length >= 1);
  assert.deepEqual(al2.messages().map((m) => m.seq), [4]);
  assert.ok([...wx.storage.keys()].some((k) => k.startsWith('parley:seq:')));
});
