// Unit tests of the Node WebSocket client against a hand-written RFC 6455
// server: masking, fragmented messages, ping/pong, the closing handshake.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';
import { FrameParser, backoff, checkBody, nodeSocket, wsURL } from '../dist/esm/node/index.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
function serverFrame(opcode, payload, fin = true) {
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0, len]) : Buffer.from([0, 126, len >> 8, len & 255]);
  head[0] = (fin ? 0x80 : 0) | opcode;
  return Buffer.concat([head, payload]);
}

let srv;
let url;
let onConn;
before(async () => {
  srv = createServer();
  srv.on('upgrade', (req, sock) => {
    const accept = createHash('sha1').update(req.headers['sec-websocket-key'] + GUID).digest('base64');
    sock.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    const parser = new FrameParser();
    const frames = [];
    let raw = Buffer.alloc(0);
    sock.on('data', (c) => {
      raw = Buffer.concat([raw, c]);
      for (const f of parser.push(c)) frames.push(f);
    });
    onConn(sock, frames, () => raw);
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  url = `ws://127.0.0.1:${srv.address().port}/ws?v=1`;
});
after(() => srv.close());

function open(handlers = {}) {
  return new Promise((resolve) => {
    const got = { messages: [], closed: null };
    const s = nodeSocket()(url, {
      open: () => resolve({ s, got }),
      message: (m) => got.messages.push(m),
      close: (code, reason) => (got.closed = { code, reason }),
      ...handlers,
    });
  });
}
const until = async (f) => {
  for (let i = 0; i < 200 && !f(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(f());
};

test('client frames are masked; fragmented and large server messages are reassembled', async () => {
  let server;
  onConn = (sock, frames, raw) => (server = { sock, frames, raw });
  const { s, got } = await open();
  s.send('{"t":"ping"}');
  await until(() => server.frames.length === 1);
  assert.equal(server.raw()[1] & 0x80, 0x80, 'the mask bit');
  assert.equal(server.frames[0].payload.toString(), '{"t":"ping"}');
  server.sock.write(serverFrame(1, Buffer.from('{"a":'), false));
  server.sock.write(serverFrame(9, Buffer.from('hb'))); // a ping between fragments
  server.sock.write(serverFrame(0, Buffer.from('1,'), false));
  server.sock.write(serverFrame(0, Buffer.from('"b":2}')));
  const big = JSON.stringify({ x: 'y'.repeat(70000) });
  const head = Buffer.from([0x81, 127, 0, 0, 0, 0, 0, 0, 0, 0]);
  head.writeBigUInt64BE(BigInt(big.length), 2);
  server.sock.write(Buffer.concat([head, Buffer.from(big)]));
  await until(() => got.messages.length === 2);
  assert.equal(got.messages[0], '{"a":1,"b":2}');
  assert.equal(got.messages[1], big);
  const pong = server.frames.find((f) => f.opcode === 10);
  assert.equal(pong?.payload.toString(), 'hb', 'the pong echoes the ping');
  s.close(1000, 'bye');
  await until(() => server.frames.some((f) => f.opcode === 8));
  server.sock.write(serverFrame(8, Buffer.from([0x03, 0xe8])));
  server.sock.end();
  await until(() => got.closed);
  assert.equal(got.closed.code, 1000);
});

test('a server close is answered and reported with its code and reason', async () => {
  let server;
  onConn = (sock, frames) => (server = { sock, frames });
  const { got } = await open();
  const p = Buffer.concat([Buffer.from([0x0f, 0xa5]), Buffer.from('replaced')]); // 4005
  server.sock.write(serverFrame(8, p));
  await until(() => got.closed);
  assert.deepEqual(got.closed, { code: 4005, reason: 'replaced' });
  await until(() => server.frames.some((f) => f.opcode === 8));
});

test('a refused handshake and a dropped link close with 1006', async () => {
  const closed = await new Promise((resolve) => {
    nodeSocket()(`ws://127.0.0.1:${srv.address().port + 1 || 1}/`, { open() {}, message() {}, close: (code, reason) => resolve({ code, reason }) });
  });
  assert.equal(closed.code, 1006);
  let server;
  onConn = (sock) => (server = { sock });
  const { got } = await open();
  server.sock.destroy();
  await until(() => got.closed);
  assert.equal(got.closed.code, 1006);
});

test('helpers: backoff, wsURL, body checks', () => {
  assert.equal(backoff(0, 500, 30000, 0), 250);
  assert.equal(backoff(0, 500, 30000, 1), 500);
  assert.equal(backoff(3, 500, 30000, 1), 4000);
  assert.equal(backoff(20, 500, 30000, 0), 15000);
  assert.equal(wsURL('https://im.example.com/'), 'wss://im.example.com/ws?v=1');
  assert.equal(wsURL('http://127.0.0.1:8080/base'), 'ws://127.0.0.1:8080/base/ws?v=1');
  assert.equal(checkBody('txt', { msg: 'x' }), '');
  assert.match(checkBody('txt', {}), /msg/);
  assert.match(checkBody('file', { url: 'https://x/y' }), /filename/);
  assert.match(checkBody('img', { url: 'ftp://x' }), /URL/);
  assert.equal(checkBody('loc', { lat: '39.9', lng: 116 }), '');
  assert.match(checkBody('loc', { lat: 91, lng: 0 }), /lat/);
  assert.match(checkBody('custom', { customEvent: 'bad event!' }), /customEvent/);
  assert.match(checkBody('nope', {}), /unknown/);
});
