// End-to-end: uploads and downloads (sdk/go/e2e_files_test.go).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { deflateSync } from 'node:zlib';
import { fetchUploader, fileBody, imageBody, isCode } from '../dist/esm/node/index.js';
import { sleep, startServer } from './harness.mjs';

let server;
const apps = [];
before(async () => {
  server = await startServer();
});
after(async () => {
  for (const a of apps) a.closeAll();
  await server?.stop();
});
async function newApp(users, settings) {
  const a = await server.app(users, settings);
  apps.push(a);
  return a;
}

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
/** A PNG of random pixels (it does not compress, so it gets its own thumbnail). */
function noisyPNG(w, h) {
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const raw = Buffer.alloc((w * 3 + 1) * h);
  const px = randomBytes(w * 3 * h);
  for (let y = 0; y < h; y++) px.copy(raw, y * (w * 3 + 1) + 1, y * w * 3, (y + 1) * w * 3);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}
const progress = () => {
  const p = { calls: [], record: (sent, total) => p.calls.push([sent, total]) };
  return p;
};

describe('files', () => {
  test('upload (Buffer, path, Readable, Blob) with progress, download by URL and UUID, resume', async () => {
    const a = await newApp(['alice', 'bob']);
    const { c: alice } = await a.dial('alice', 'a1');
    const { c: bob } = await a.dial('bob', 'b1');
    const content = randomBytes(300_000);
    const path = join(server.dir, 'notes.bin');
    writeFileSync(path, content);
    for (const [name, file, filename, want, opts] of [
      ['Buffer', content, 'data.bin', 'data.bin', {}],
      ['path', path, undefined, 'notes.bin', {}],
      ['Readable of unknown size', Readable.from([content.subarray(0, 100_000), content.subarray(100_000)]), 'stream.bin', 'stream.bin', {}],
      ['Blob with fetch', new Blob([content]), 'blob.bin', 'blob.bin', { uploader: fetchUploader }],
    ]) {
      const up = progress();
      const f = await alice.files.upload(file, { filename, onProgress: up.record, ...opts });
      assert.equal(f.file_length, content.length, name);
      assert.equal(f.filename, filename ?? want, name);
      assert.equal(f.restrict_access, false);
      assert.equal(f.url, `${server.url}/${a.org}/${a.name}/chatfiles/${f.uuid}`);
      assert.ok(up.calls.length >= 1, `${name}: progress`);
      assert.equal(up.calls[up.calls.length - 1][0], content.length, `${name}: progress ends at the size`);
      const down = progress();
      const got = await bob.files.download(f.url, { onProgress: down.record });
      assert.ok(Buffer.from(got.data).equals(content), `${name}: download by URL`);
      assert.deepEqual(down.calls[down.calls.length - 1], [content.length, content.length]);
      assert.ok(Buffer.from((await alice.files.download(f.uuid)).data).equals(content), 'by UUID');
      const offset = 123_456;
      const resumed = await bob.files.download(f.url, { offset });
      assert.ok(Buffer.from(resumed.data).equals(content.subarray(offset)), 'resumed');
      assert.equal(resumed.size, content.length);
      assert.equal((await bob.files.download(f.url, { offset: content.length })).data.length, 0);
      const chunks = [];
      await bob.files.download(f.url, { onChunk: (c) => chunks.push(Buffer.from(c)) });
      assert.ok(Buffer.concat(chunks).equals(content), 'onChunk');
    }
  });

  test('image with thumbnail, sent as a message', async () => {
    const a = await newApp(['alice', 'bob']);
    const { c: alice } = await a.dial('alice', 'a1');
    const { c: bob, log: bl } = await a.dial('bob', 'b1');
    const pic = noisyPNG(400, 300);
    const f = await alice.files.upload(pic, { filename: 'cat.png', thumbnailWidth: 100, thumbnailHeight: 100 });
    assert.deepEqual([f.content_type, f.width, f.height, f.thumbnail, f.file_length], ['image/png', 400, 300, true, pic.length]);
    const body = imageBody(f);
    assert.deepEqual(body.size, { width: 400, height: 300 });
    await alice.send({ to: 'bob', type: 'img', body });
    await bl.waitFor('the image message', (l) => l.messages().length >= 1);
    const got = bl.messages()[0];
    assert.equal(got.type, 'img');
    assert.ok(Buffer.from((await bob.files.download(got.body.url)).data).equals(pic));
    const thumb = await bob.files.download(got.body.thumb, { thumbnail: true });
    assert.equal(thumb.contentType, 'image/png');
    assert.ok(thumb.data.length < pic.length);
    assert.equal(Buffer.from(thumb.data.subarray(16, 24)).readUInt32BE(0), 100, 'thumbnail width');
    assert.equal(Buffer.from(thumb.data.subarray(16, 24)).readUInt32BE(4), 75, 'thumbnail height');
  });

  test('restricted files need their secret; recalling the message deletes the file', async () => {
    const a = await newApp(['alice', 'bob', 'carol']);
    const { c: alice } = await a.dial('alice', 'a1');
    const { c: bob, log: bl } = await a.dial('bob', 'b1');
    const { c: carol } = await a.dial('carol', 'c1');
    const data = randomBytes(5000);
    const f = await alice.files.upload(data, { filename: 'secret.bin', restrictAccess: true });
    assert.ok(f.restrict_access && f.secret);
    await assert.rejects(carol.files.download(f.url), (e) => e.status === 403);
    assert.ok(Buffer.from((await alice.files.download(f.url)).data).equals(data), 'the uploader');
    const body = fileBody(f);
    assert.equal(body.secret, f.secret);
    const ack = await alice.send({ to: 'bob', type: 'file', body });
    await bl.waitFor('the file message', (l) => l.messages().length >= 1);
    const m = bl.messages()[0];
    assert.ok(Buffer.from((await bob.files.download(m.body.url, { secret: m.body.secret })).data).equals(data));
    await alice.recall(ack.msg_id);
    await bl.waitFor('the recall', (l) => l.of('recall').length >= 1);
    let gone = false;
    for (let i = 0; i < 50 && !gone; i++) {
      try {
        await bob.files.download(m.body.url, { secret: m.body.secret });
        await sleep(50);
      } catch (e) {
        gone = e.status === 404;
      }
    }
    assert.ok(gone, 'the file is deleted with the recalled message');
  });

  test('refusals and cancellation', async () => {
    const a = await newApp(['alice'], ['max_file_bytes=100000']);
    const { c: alice } = await a.dial('alice', 'a1');
    await assert.rejects(alice.files.upload(randomBytes(200_000), { filename: 'big.bin' }), (e) => e.status === 413);
    assert.throws(() => alice.files.fileURL('https://elsewhere.example/acme/x/chatfiles/abc'), (e) => isCode(e, 'illegal_argument'));
    const ctl = new AbortController();
    const big = Readable.from((async function* () {
      for (let i = 0; i < 50; i++) {
        yield randomBytes(1000);
        await sleep(20);
      }
    })());
    const p = alice.files.upload(big, { filename: 'slow.bin', signal: ctl.signal, onProgress: () => ctl.abort() });
    await assert.rejects(p);
  });
});
