// Interop (issue 11, acceptance 3): the Go SDK and this SDK exchange every
// message type — txt, img, audio, video, file, loc, cmd, custom, combine,
// each body with all its fields and an ext of nested values — both ways
// through a real server, and each side checks every field.
//
// The Go side is test/interop/main.go (`go run`, the Go SDK from this
// checkout): it sends every case to this side, receives this side's sends,
// checks them itself (body as sent and as its typed Body, ext, envelope) and
// prints a JSON report that this test compares with its own acks.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { EventLog, password, startServer } from './harness.mjs';

const repo = resolve(fileURLToPath(import.meta.url), '../../../..');

let server;
const apps = [];
before(async () => {
  server = await startServer();
});
after(async () => {
  for (const a of apps) a.closeAll();
  await server?.stop();
});

// cases: every message type with every body field set, and an ext with
// nested objects and arrays, every JSON kind, and text that needs escaping.
function cases(base) {
  const file = (id) => `${base}/acme/files/chatfiles/${id}`;
  const ext = (i, type) => ({
    case: i,
    type,
    em_apns_ext: { em_push_title: '新消息 ✉', em_push_content: `a ${type} message` },
    nested: {
      list: [1, 2.5, -3, 'four', true, false, null, { deep: { deeper: ['x', { y: 0 }] } }],
      empty_object: {},
      empty_list: [],
      big: 9007199254740991,
      small: 1e-7,
      text: '你好 👋 "quoted" \\ back\nslash\ttab </script>',
    },
    flag: false,
    nothing: null,
  });
  const bodies = [
    ['txt', { msg: 'Hello from the other SDK — 你好 👋 <b>not html</b>\nsecond line' }],
    ['img', { url: file('img-1'), filename: 'photo.png', secret: 'img-secret', size: { width: 640, height: 480 }, file_length: 123456, thumb: file('img-1-thumb'), thumb_secret: 'thumb-secret' }],
    ['audio', { url: file('audio-1'), filename: 'voice.amr', length: 7, secret: 'audio-secret', file_length: 4096 }],
    ['video', { url: file('video-1'), filename: 'clip.mp4', thumb: file('video-1-thumb'), length: 12, file_length: 987654, secret: 'video-secret', thumb_secret: 'video-thumb-secret', size: { width: 1280, height: 720 } }],
    ['file', { url: file('file-1'), filename: '报告 final (v2).pdf', secret: 'file-secret', file_length: 2048 }],
    ['loc', { lat: 39.9042, lng: 116.4074, addr: '北京市东城区', buildingName: 'Tiananmen' }],
    ['cmd', { action: 'typing/start' }],
    ['custom', { customEvent: 'gift.sent', customExts: { gift: 'rose', count: '3', note: '🌹' } }],
    ['combine', { url: file('combine-1'), title: 'Chat history', summary: 'alice: hi\nbob: hello', combineLevel: 1, filename: 'history.json', secret: 'combine-secret', file_length: 512, subType: 'sub_combine' }],
  ];
  return bodies.map(([type, body], i) => ({ type, body, ext: ext(i, type) }));
}

function goInterop(args) {
  return new Promise((resolve, reject) => {
    execFile('go', ['run', './sdk/js/test/interop', ...args], { cwd: repo, maxBuffer: 16 << 20, timeout: 120000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`go run ./sdk/js/test/interop: ${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout));
    });
  });
}

describe('interop with the Go SDK', () => {
  test('every message type, both ways, every field intact', { timeout: 180000 }, async () => {
    const a = await server.app(['gopher', 'node']);
    apps.push(a);
    const { c: node, log } = await a.dial('node', 'js_interop');
    const all = cases(server.url);
    const casesFile = join(server.dir, 'interop-cases.json');
    writeFileSync(casesFile, JSON.stringify(all));

    const goSide = goInterop(['-url', server.url, '-org', a.org, '-app', a.name, '-user', 'gopher', '-password', password,
      '-peer', 'node', '-cases', casesFile]);
    const fromGo = () => log.messages().filter((m) => m.from === 'gopher');
    // go run compiles first: allow it the time.
    await Promise.race([
      log.waitFor(`${all.length} messages from the Go SDK`, () => fromGo().length >= all.length, 150000),
      goSide.then((r) => { if (fromGo().length < all.length) throw new Error(`the Go side ended early: ${JSON.stringify(r)}`); }),
    ]);

    // Go → TypeScript: each message as the Go side sent it.
    const got = fromGo();
    for (const [i, c] of all.entries()) {
      const m = got[i];
      assert.equal(m.kind, 'msg');
      assert.equal(m.type, c.type, `message ${i}: type`);
      assert.deepEqual(m.body, c.body, `message ${i} (${c.type}): body`);
      assert.deepEqual(m.ext, c.ext, `message ${i} (${c.type}): ext`);
      assert.equal(m.chat_type, 'chat');
      assert.equal(m.to, 'node');
      assert.ok(m.seq > 0 && m.msg_id && m.client_msg_id && m.ts > 0, `message ${i}: envelope ${JSON.stringify(m)}`);
    }

    // TypeScript → Go.
    const acks = [];
    const cmids = [];
    for (const c of all) {
      const clientMsgId = `js-${c.type}-${Date.now()}`;
      cmids.push(clientMsgId);
      acks.push(await node.send({ to: 'gopher', type: c.type, body: c.body, ext: c.ext, clientMsgId }));
    }
    const rep = await goSide;
    assert.deepEqual(rep.problems, [], 'what the Go side found');
    assert.equal(rep.sent.length, all.length);
    assert.equal(rep.received.length, all.length);
    for (const [i, c] of all.entries()) {
      // The Go side's acks are the items this side got.
      const s = rep.sent[i];
      assert.deepEqual([got[i].msg_id, got[i].seq, got[i].conv_id, got[i].ts], [s.msg_id, s.seq, s.conv_id, s.ts], `message ${i}: Go's ack`);
      const r = rep.received[i];
      assert.deepEqual([r.msg_id, r.seq, r.conv_id, r.ts], [acks[i].msg_id, acks[i].seq, acks[i].conv_id, acks[i].ts], `message ${i}: this side's ack`);
      assert.equal(r.client_msg_id, cmids[i]);
      assert.deepEqual([r.from, r.to, r.chat_type, r.type], ['node', 'gopher', 'chat', c.type]);
      assert.deepEqual(r.body, c.body, `message ${i} (${c.type}): body at the Go side`);
      assert.deepEqual(r.typed, c.body, `message ${i} (${c.type}): the Go side's typed body`);
      assert.deepEqual(r.ext, c.ext, `message ${i} (${c.type}): ext at the Go side`);
    }
  });
});
