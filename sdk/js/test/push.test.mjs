// End-to-end: push bindings, background state and notification settings,
// with a webhook notifier served by the test (sdk/go/e2e_push_test.go uses a fake FCM).
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { nodeSocket } from '../dist/esm/node/index.js';
import { faultySocket, sleep, startServer } from './harness.mjs';

let server;
let hook;
const pushes = [];
const apps = [];
before(async () => {
  server = await startServer();
  hook = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      try {
        pushes.push(JSON.parse(body));
      } catch {
        // ignore
      }
      res.writeHead(200).end();
    });
  });
  await new Promise((r) => hook.listen(0, '127.0.0.1', r));
});
after(async () => {
  for (const a of apps) a.closeAll();
  hook?.close();
  await server?.stop();
});
async function pushApp(users) {
  const a = await server.app(users);
  apps.push(a);
  const r = await a.rest('PUT', '/push/notifiers/hook', { provider: 'webhook', url: `http://127.0.0.1:${hook.address().port}/push` });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return a;
}
const pushedTo = (token) => pushes.filter((p) => p.token === token).map((p) => p.data?.msg_id);
async function waitPushes(token, ...ids) {
  const deadline = Date.now() + 10000;
  while (pushedTo(token).length < ids.length && Date.now() < deadline) await sleep(20);
  await sleep(300);
  assert.deepEqual(pushedTo(token).sort(), ids.sort(), `pushes to ${token}`);
}

describe('push', () => {
  test('a bound device gets pushes while offline, and while the app is in the background', async () => {
    const a = await pushApp(['alice', 'bob']);
    const tok = `tok-${a.name}-b1`;
    const { c: alice } = await a.dial('alice', 'a1');
    const fault = faultySocket(nodeSocket());
    const { c: bob, log: bl } = await a.dial('bob', 'b1', { socket: fault.factory });
    const list = await bob.push.bindDevice('b1', 'hook', tok);
    assert.ok(list.some((b) => b.device_token === tok && b.notifier_name === 'hook'), JSON.stringify(list));
    assert.ok((await bob.push.bindings()).some((b) => b.device_token === tok));

    const online = await alice.sendText('bob', 'while online');
    await bob.setBackground(true);
    const bg = await alice.sendText('bob', 'in the background');
    // The server decides when it processes the push, so wait for it before changing the state.
    await waitPushes(tok, bg.msg_id);
    // The background state survives a reconnect.
    fault.drop();
    await bl.waitFor("bob's resync", (l) => l.of('connection').filter((e) => e.state === 'resynced').length >= 2);
    const bg2 = await alice.sendText('bob', 'after a reconnect');
    await waitPushes(tok, bg.msg_id, bg2.msg_id);
    await bob.setBackground(false);
    const fg = await alice.sendText('bob', 'in the foreground');
    await sleep(300); // let the server decide about fg while bob is connected
    bob.close();
    await sleep(200);
    const off = await alice.sendText('bob', 'while offline');
    await waitPushes(tok, bg.msg_id, bg2.msg_id, off.msg_id);
    assert.ok(![online.msg_id, fg.msg_id].some((id) => pushedTo(tok).includes(id)));
  });

  test('notification modes, unbinding and preferences', async () => {
    const a = await pushApp(['alice', 'bob', 'carol']);
    const tok = `tok-${a.name}-b1`;
    const { c: alice } = await a.dial('alice', 'a1');
    const { c: carol } = await a.dial('carol', 'c1');
    const { c: bob } = await a.dial('bob', 'b1');
    await bob.push.bindDevice('b1', 'hook', tok);
    const set = await bob.push.setPeerNotification('alice', { type: 'NONE' });
    assert.equal(set.type, 'NONE');
    assert.equal((await bob.push.notification('user', 'alice')).type, 'NONE');
    const dflt = await bob.push.setDefaultNotification({ type: 'ALL', ignoreInterval: '23:00-7:00' });
    assert.equal(dflt.type, 'ALL');
    await bob.push.setDefaultNotification({ type: 'ALL', ignoreInterval: '' });
    await bob.push.setLanguage('de');
    assert.equal(await bob.push.language(), 'de');
    await bob.push.setDisplayStyle(1);
    await bob.push.setNickname('Bobby');
    bob.close();
    await sleep(200);
    const muted = await alice.sendText('bob', 'silenced');
    await sleep(300);
    const pushed = await carol.sendText('bob', 'from carol');
    await waitPushes(tok, pushed.msg_id);
    assert.ok(!pushedTo(tok).includes(muted.msg_id));
    const p = pushes.find((x) => x.data?.msg_id === pushed.msg_id);
    assert.match(`${p.title} ${p.body}`, /carol|from carol/);

    const { c: bob2 } = await a.dial('bob', 'b1');
    const left = await bob2.push.unbindDevice('b1', 'hook');
    assert.ok(!left.some((b) => b.device_token === tok));
    bob2.close();
    await sleep(200);
    await carol.sendText('bob', 'after unbinding');
    await waitPushes(tok, pushed.msg_id);
  });
});
