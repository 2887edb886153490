// End-to-end: the SDK against a real parley server, the scenarios of
// sdk/go/e2e_test.go (offline sync, multi-device, retry idempotency,
// recall, receipts, history and the conversation list).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MemoryState, createClient, isCode, nodeSocket } from '../dist/esm/node/index.js';
import { EventLog, faultySocket, hasMessages, seqs, sleep, startServer, upTo } from './harness.mjs';

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
async function sendTexts(c, to, n) {
  const acks = [];
  for (let i = 0; i < n; i++) acks.push(await c.sendText(to, `${c.resource} ${i}`));
  return acks;
}
const receipt = (kinds, by, match) => (l) =>
  l.of('receipt').some((r) => kinds.includes(r.kind) && r.by === by && match(r));
const recallOf = (target) => (l) => l.of('recall').some((r) => r.item.target === target);

describe('messaging', () => {
  test('offline delivery: after a reconnect, and for a new client with the same state', async () => {
    const a = await newApp(['alice', 'bob']);
    const { c: alice } = await a.dial('alice', 'a1');
    const state = new MemoryState();
    const fault = faultySocket(nodeSocket());
    const { c: bob, log: bl } = await a.dial('bob', 'b1', { state, socket: fault.factory });

    await sendTexts(alice, 'bob', 1);
    await bl.waitFor('the first message', hasMessages(1));

    fault.offline = true;
    fault.drop();
    await bl.waitFor('the disconnect', (l) => l.of('connection').some((e) => e.state === 'disconnected'));
    await sendTexts(alice, 'bob', 3);
    fault.offline = false;
    await bl.waitFor('the messages sent while offline', hasMessages(4));
    const got = bl.messages();
    assert.deepEqual(seqs(got), upTo(4));
    assert.equal(got[3].from, 'alice');
    assert.deepEqual(got[3].body, { msg: 'a1 2' });

    bob.close();
    await sendTexts(alice, 'bob', 2);
    const { log: bl2 } = await a.dial('bob', 'b1', { state });
    await bl2.waitFor('the messages sent after close', hasMessages(2));
    assert.deepEqual(seqs(bl2.messages()), [5, 6]);
  });

  test('three devices see what the user sends and receives, and read marks', async () => {
    const a = await newApp(['alice', 'bob']);
    const { c: a1, log: l1 } = await a.dial('alice', 'a1');
    const { log: l2 } = await a.dial('alice', 'a2');
    const { log: l3 } = await a.dial('alice', 'a3');
    const { c: bob, log: lb } = await a.dial('bob', 'b1');

    const acks = [...(await sendTexts(a1, 'bob', 2)), ...(await sendTexts(bob, 'alice', 1))];
    const conv = acks[0].conv_id;
    for (const ack of acks) assert.equal(ack.conv_id, conv);
    for (const [name, l] of Object.entries({ a1: l1, a2: l2, a3: l3, b1: lb })) {
      await l.waitFor(`${name}'s messages`, hasMessages(3));
      const got = l.messages();
      assert.deepEqual(seqs(got), upTo(3), name);
      assert.equal(got[0].from, 'alice');
      assert.equal(got[2].from, 'bob');
      assert.equal(got[1].msg_id, acks[1].msg_id);
    }

    await a1.markRead(conv);
    for (const [name, l] of Object.entries({ a2: l2, a3: l3 })) {
      await l.waitFor(`${name} sees the read mark`, (l) =>
        l.of('conversation').some((c) => !c.fromSync && c.conversation.conv_id === conv &&
          c.conversation.read_seq === 3 && c.conversation.unread === 0));
    }
    await lb.waitFor('bob gets the read receipt', receipt(['read', 'channel_read'], 'alice', (r) => r.conv_id === conv && r.seq === 3));
  });

  test('a send whose ack is lost is resent with its client_msg_id and stored once', async () => {
    const a = await newApp(['alice', 'bob']);
    const fault = faultySocket(nodeSocket());
    const { c: alice, log: al } = await a.dial('alice', 'a1', { socket: fault.factory });
    const { c: bob, log: bl } = await a.dial('bob', 'b1');
    let dropped = false;
    fault.dropReplyTo = (req) => {
      if (req.t !== 'send') return false;
      dropped = true;
      return true;
    };
    const ack = await alice.send({ to: 'bob', type: 'txt', body: { msg: 'exactly once' }, clientMsgId: 'retry-1' });
    assert.ok(dropped, 'the ack was not dropped');
    assert.equal(ack.duplicate, true);
    assert.equal(ack.seq, 1);
    await al.waitFor("alice's reconnect", (l) => l.of('connection').filter((e) => e.state === 'resynced').length >= 2);
    await sendTexts(alice, 'bob', 1);
    for (const [name, l] of Object.entries({ alice: al, bob: bl })) {
      await l.waitFor(`${name}'s messages`, hasMessages(2));
      const got = l.messages();
      assert.deepEqual(seqs(got), [1, 2], name);
      assert.equal(got[0].client_msg_id, 'retry-1');
      assert.equal(got[0].msg_id, ack.msg_id);
    }
    const { items } = await bob.history(ack.conv_id, { limit: 10 });
    assert.equal(items.length, 2);
    assert.equal(items.filter((it) => it.client_msg_id === 'retry-1').length, 1);
  });

  test('recall: by the sender within the window; refused otherwise; forced by an admin', async () => {
    const a = await newApp(['alice', 'bob'], ['recall_window_seconds=1']);
    const { c: alice, log: al } = await a.dial('alice', 'a1');
    const { c: bob, log: bl } = await a.dial('bob', 'b1');

    const ack1 = await alice.sendText('bob', 'oops');
    await alice.recall(ack1.msg_id);
    for (const [name, l] of Object.entries({ alice: al, bob: bl })) {
      await l.waitFor(`${name} sees the recall`, recallOf(ack1.msg_id));
      const order = l.events.filter((x) => x.name === 'message' || x.name === 'recall').map((x) => x.e.item.seq);
      assert.deepEqual(order, [1, 2], name);
    }

    const ack2 = await alice.sendText('bob', 'second');
    await assert.rejects(bob.recall(ack2.msg_id), (err) => isCode(err, 'recall_not_allowed'));
    const cmd = await alice.send({ to: 'bob', type: 'cmd', body: { action: 'typing' } });
    await assert.rejects(alice.recall(cmd.msg_id), (err) => isCode(err, 'recall_not_allowed'));

    await sleep(ack2.ts + 1200 - Date.now());
    await assert.rejects(alice.recall(ack2.msg_id), (err) => isCode(err, 'recall_window_passed'));
    const adminRecall = { msg_id: ack2.msg_id, to: 'bob', chat_type: 'chat', from: 'alice' };
    let r = await a.rest('POST', '/messages/msg_recall', adminRecall);
    assert.equal(r.status, 200);
    assert.notEqual(r.body.data.recalled, 'yes');
    r = await a.rest('POST', '/messages/msg_recall', { ...adminRecall, force: true });
    assert.equal(r.status, 200);
    assert.equal(r.body.data.recalled, 'yes');
    for (const [name, l] of Object.entries({ alice: al, bob: bl })) {
      await l.waitFor(`${name} sees the forced recall`, recallOf(ack2.msg_id));
    }
    const { items } = await bob.history(ack1.conv_id, { limit: 10 });
    const recalled = new Set(items.filter((it) => it.kind === 'msg' && it.recalled).map((it) => it.msg_id));
    for (const it of items) if (it.recalled) assert.ok(it.body === undefined || it.body === null, 'recalled body');
    assert.ok(recalled.has(ack1.msg_id) && recalled.has(ack2.msg_id) && !recalled.has(cmd.msg_id));
  });

  test('receipts: delivered and read reach the sender; a new device learns them from sync', async () => {
    const a = await newApp(['alice', 'bob']);
    const { c: alice, log: al } = await a.dial('alice', 'a1');
    const { c: bob, log: bl } = await a.dial('bob', 'b1');
    const [ack] = await sendTexts(alice, 'bob', 1);
    await bl.waitFor("bob's message", hasMessages(1));
    await al.waitFor('the delivery receipt', receipt(['delivered'], 'bob', (r) => r.conv_id === ack.conv_id && r.seq >= ack.seq));

    await bob.markMessageRead(ack.msg_id);
    await al.waitFor('the read receipt of one message', receipt(['read'], 'bob', (r) => r.msg_id === ack.msg_id));

    const [ack2] = await sendTexts(alice, 'bob', 1);
    await bl.waitFor("bob's second message", hasMessages(2));
    await bob.markRead(ack.conv_id);
    await al.waitFor('the read receipt of the conversation', receipt(['read', 'channel_read'], 'bob',
      (r) => r.conv_id === ack.conv_id && r.seq >= ack2.seq));

    const { log: l2 } = await a.dial('alice', 'a2');
    await l2.waitFor("the receipts in the new device's sync", (l) => l.of('conversation').some((c) => c.fromSync && c.conversation.conv_id === ack.conv_id));
    const cv = l2.of('conversation').find((c) => c.fromSync && c.conversation.conv_id === ack.conv_id).conversation;
    assert.equal(cv.peer_read_seq, ack2.seq);
    assert.ok(cv.peer_delivered_seq >= ack2.seq);
    assert.equal(cv.last_seq, ack2.seq);
  });

  test('concurrent senders: every device sees each seq once, in order', async () => {
    const per = 25;
    const a = await newApp(['alice', 'bob']);
    const devs = [];
    for (const [u, r, peer] of [['alice', 'a1', 'bob'], ['alice', 'a2', 'bob'], ['bob', 'b1', 'alice'], ['bob', 'b2', 'alice']]) {
      devs.push({ ...(await a.dial(u, r)), peer });
    }
    const acks = (await Promise.all(devs.map((d) => Promise.all(Array.from({ length: per }, (_, i) => d.c.sendText(d.peer, `${i}`)))))).flat();
    const total = per * devs.length;
    assert.deepEqual(acks.map((x) => x.seq).sort((x, y) => x - y), upTo(total));
    for (const d of devs) {
      await d.log.waitFor(`${d.c.resource}'s messages`, hasMessages(total));
      assert.deepEqual(seqs(d.log.messages()), upTo(total));
    }
  });

  test('history and the conversation list', async () => {
    const a = await newApp(['alice', 'bob', 'carol']);
    const { c: alice } = await a.dial('alice', 'a1');
    const acks = await sendTexts(alice, 'bob', 5);
    await alice.sendText('carol', 'hi carol');
    const { items, more } = await alice.history(acks[0].conv_id, { limit: 3 });
    assert.deepEqual(seqs(items), [3, 4, 5]);
    assert.equal(more, true);
    const older = await alice.history(acks[0].conv_id, { msgId: items[0].msg_id, limit: 10 });
    assert.deepEqual(seqs(older.items), [1, 2]);
    const fwd = await alice.history(acks[0].conv_id, { msgId: acks[1].msg_id, forward: true, limit: 10 });
    assert.deepEqual(seqs(fwd.items), [3, 4, 5]);
    const list = await alice.conversations(10);
    assert.deepEqual(list.conversations.map((c) => c.peer), ['carol', 'bob']);
    await alice.pinConversation(acks[0].conv_id, true);
    assert.equal((await alice.conversations(10)).conversations[0].peer, 'bob');
  });

  test('terminal closes: forced logout stops the client; a replaced resource too', async () => {
    const a = await newApp(['alice']);
    const { c: first, log: l1 } = await a.dial('alice', 'same');
    await a.dial('alice', 'same');
    await l1.waitFor('the replaced device stops', (l) => l.of('connection').some((e) => e.final && e.code === 4005));
    assert.equal(first.error?.code, 4005);
    await assert.rejects(first.sendText('bob', 'x'));

    const { log: l2 } = await a.dial('alice', 'other');
    const r = await a.rest('GET', '/users/alice/disconnect');
    assert.equal(r.status, 200);
    await l2.waitFor('the forced logout', (l) => l.of('connection').some((e) => e.final && e.code === 4004));
  });

  test('token sign-in, refusals and ROUTE_ONLINE', async () => {
    const a = await newApp(['alice', 'bob']);
    const tok = await a.rest('POST', '/token', undefined);
    assert.ok(tok.status >= 400);
    const t = await fetch(`${a.server.url}/${a.org}/${a.name}/token`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ grant_type: 'password', username: 'alice', password: 'secret-password' }),
    }).then((r) => r.json());
    const alice = createClient({ ...a.config('alice', 'a1'), username: undefined, password: undefined, token: t.access_token });
    a.clients.push(alice);
    await alice.connect();
    assert.equal(alice.user, 'alice');
    const { log: bl } = await a.dial('bob', 'b1');
    await assert.rejects(alice.send({ to: 'bob', type: 'loc', body: { lat: 100, lng: 0 } }), (e) => isCode(e, 'illegal_argument'));
    await assert.rejects(alice.sendText('nobody-here', 'x'), (e) => e.code !== undefined);
    const online = await alice.send({ to: 'bob', type: 'txt', body: { msg: 'live' }, routeOnline: true });
    assert.ok(!online.seq);
    await bl.waitFor('the online message', (l) => l.messages().some((m) => m.seq === 0 || m.online));

    const bad = createClient({ ...a.config('alice', 'a2'), password: 'wrong' });
    await assert.rejects(bad.connect(), (e) => e.code === 'invalid_grant');
  });

  test('reconnects rotate through the endpoints', async () => {
    const a = await newApp(['alice']);
    const dialed = [];
    const fault = faultySocket((url, h) => {
      dialed.push(url);
      return nodeSocket()(url, h);
    });
    const other = server.url.replace('127.0.0.1', 'localhost');
    const { log } = await a.dial('alice', 'a1', { endpoints: [server.url, other], socket: fault.factory });
    fault.drop();
    await log.waitFor('the resync', (l) => l.of('connection').filter((e) => e.state === 'resynced').length >= 2);
    assert.ok(dialed[0].startsWith(server.url.replace('http', 'ws')));
    assert.ok(dialed[1].startsWith(other.replace('http', 'ws')), dialed.join(' '));
  });

  test('a refused token is replaced with a new one when the client has a password', async () => {
    const a = await newApp(['alice']);
    const { c } = await a.dial('alice', 'a1', { token: 'P1.not-a-real-token' });
    assert.equal(c.user, 'alice');
    assert.notEqual(c.token, 'P1.not-a-real-token');
    const bad = createClient({ ...a.config('alice', 'a2'), username: undefined, password: undefined, token: 'P1.not-a-real-token' });
    await assert.rejects(bad.connect(), (e) => isCode(e, 'bad_access_token'));
  });

  test('a new device gets each conversation with its latest items, and only newer items as messages', async () => {
    const a = await newApp(['alice', 'bob', 'carol']);
    const { c: alice } = await a.dial('alice', 'a1');
    const { c: carol } = await a.dial('carol', 'c1');
    await sendTexts(alice, 'bob', 3);
    await sendTexts(carol, 'bob', 1);
    const { log } = await a.dial('bob', 'b9', { syncLatest: 2 });
    const convs = log.of('conversation').filter((c) => c.fromSync).map((c) => c.conversation);
    assert.deepEqual(convs.map((c) => [c.peer, c.last_seq, (c.recent ?? []).map((it) => it.seq)]).sort(),
      [['alice', 3, [2, 3]], ['carol', 1, [1]]]);
    assert.equal(log.messages().length, 0);
    await alice.sendText('bob', 'new');
    await log.waitFor('the new message', hasMessages(1));
    assert.deepEqual(seqs(log.messages()), [4]);
  });

  test('edit: every device gets it in order, also one that was offline; history has the new content', async () => {
    const a = await newApp(['alice', 'bob'], ['max_edits=2']);
    const { c: alice, log: al } = await a.dial('alice', 'a1');
    const { c: bob, log: bl } = await a.dial('bob', 'b1');
    const state = new MemoryState();
    const { c: bob2, log: bl2 } = await a.dial('bob', 'b2', { state });
    const ack = await alice.sendText('bob', 'helo');
    await bl2.waitFor("bob's second device gets the message", hasMessages(1));
    bob2.close();
    await alice.edit(ack.msg_id, 'txt', { msg: 'hello' }, { fixed: true });
    const editOf = (id, text) => (l) => l.of('edit').some((e) => e.item.target === id && e.item.body?.msg === text);
    for (const l of [al, bl]) await l.waitFor('the edit', editOf(ack.msg_id, 'hello'));
    const e = bl.of('edit')[0].item;
    assert.deepEqual([e.seq, e.edits, e.from, e.ext], [2, 1, 'alice', { fixed: true }]);
    const { log: bl3 } = await a.dial('bob', 'b2', { state });
    await bl3.waitFor('the edit on sync', editOf(ack.msg_id, 'hello'));
    assert.equal(bl3.messages().length, 0);
    const { items } = await bob.history(ack.conv_id, { limit: 10 });
    assert.deepEqual([items.length, items[0].body, items[0].edits, items[0].ext], [1, { msg: 'hello' }, 1, { fixed: true }]);
    await assert.rejects(bob.edit(ack.msg_id, 'txt', { msg: 'x' }), (err) => isCode(err, 'edit_not_allowed'));
    await assert.rejects(alice.edit(ack.msg_id, 'custom', { customEvent: 'e' }), (err) => isCode(err, 'edit_not_allowed'));
    await assert.rejects(alice.edit(ack.msg_id, 'loc', {}), (err) => isCode(err, 'illegal_argument'));
    await alice.edit(ack.msg_id, 'txt', { msg: 'hello!' });
    await assert.rejects(alice.edit(ack.msg_id, 'txt', { msg: 'again' }), (err) => isCode(err, 'edit_limit'));
  });

  test('every message type round-trips', async () => {
    const a = await newApp(['alice', 'bob']);
    const { c: alice } = await a.dial('alice', 'a1');
    const { log: bl } = await a.dial('bob', 'b1');
    const bodies = [
      ['txt', { msg: 'hi' }],
      ['cmd', { action: 'typing' }],
      ['custom', { customEvent: 'gift', customExts: { n: '3' } }],
      ['img', { url: 'https://example.com/a.png', size: { width: 2, height: 3 } }],
      ['audio', { url: 'https://example.com/a.mp3', length: 3 }],
      ['video', { url: 'https://example.com/a.mp4', length: 9 }],
      ['file', { url: 'https://example.com/a.pdf', filename: 'a.pdf' }],
      ['loc', { lat: 39.9, lng: 116.4, addr: 'Beijing' }],
      ['combine', { url: 'https://example.com/c.json', title: 'chat', summary: 's' }],
    ];
    for (const [type, body] of bodies) await alice.send({ to: 'bob', type, body, ext: { k: type } });
    await bl.waitFor('every type', hasMessages(bodies.length));
    const got = bl.messages();
    bodies.forEach(([type, body], i) => {
      assert.equal(got[i].type, type);
      assert.deepEqual(got[i].body, body);
      assert.deepEqual(got[i].ext, { k: type });
    });
  });
});
