// End-to-end: groups, the scenarios of sdk/go/e2e_groups_test.go.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ConnectionLostError, MemoryState, isCode, nodeSocket } from '../dist/esm/node/index.js';
import { faultySocket, sleep, startServer } from './harness.mjs';

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

/** The stream items of a conversation a device emitted, as "seq kind" ("msg", "recall" or the notice type). */
function stream(l, conv) {
  const out = [];
  for (const { name, e } of l.events) {
    if ((name === 'message' || name === 'recall' || name === 'groupNotice') && e.item.conv_id === conv && e.item.seq > 0) {
      out.push(`${e.item.seq} ${name === 'groupNotice' ? e.type : e.item.kind}`);
    }
  }
  return out;
}
async function waitStream(who, l, conv, want) {
  await l.waitFor(`${who}'s stream ${want.join(', ')}`, (l) => stream(l, conv).length >= want.length);
  assert.deepEqual(stream(l, conv), want, who);
}
const notice = (l, conv, seq) => l.of('groupNotice').find((n) => n.item.conv_id === conv && n.item.seq === seq);
const events = (l, kind) => l.of('event').filter((e) => e.kind === kind);
async function lastEvent(l, kind) {
  await l.waitFor(`a ${kind} event`, (l) => events(l, kind).length > 0);
  const all = events(l, kind);
  return all[all.length - 1];
}

/** Takes a device offline (its dials fail) until the returned function is called; it then waits for the resync. */
async function goOffline(fault, l) {
  const n = l.of('connection').filter((e) => e.state === 'resynced').length;
  fault.offline = true;
  fault.drop();
  await l.waitFor('the disconnect', (l) => l.of('connection').some((e) => e.state === 'disconnected'));
  return async () => {
    fault.offline = false;
    await l.waitFor('the resync', (l) => l.of('connection').filter((e) => e.state === 'resynced').length > n);
  };
}

async function trio() {
  const a = await newApp(['alice', 'bob', 'carol']);
  const t = { a };
  ({ c: t.alice, log: t.al } = await a.dial('alice', 'a1'));
  ({ c: t.bob, log: t.bl } = await a.dial('bob', 'b1'));
  ({ c: t.carol, log: t.cl } = await a.dial('carol', 'c1'));
  const g = await t.alice.groups.create({}, ['bob', 'carol']);
  t.gid = g.id;
  t.conv = g.conv_id;
  return t;
}

describe('groups', () => {
  test('lifecycle: create, apply, invite, kick (offline), quit, admins, transfer, rejoin, dissolve', async () => {
    const a = await newApp(['alice', 'bob', 'carol', 'dave', 'erin']);
    const { c: alice, log: al } = await a.dial('alice', 'a1');
    const bobFault = faultySocket(nodeSocket());
    const { c: bob, log: bl } = await a.dial('bob', 'b1', { socket: bobFault.factory });
    const { c: carol, log: cl } = await a.dial('carol', 'c1');
    const { c: erin, log: el } = await a.dial('erin', 'e1');
    // dave's device has connected before (it has a cursor), then is offline.
    const daveState = new MemoryState();
    (await a.dial('dave', 'd1', { state: daveState })).c.close();
    const laptopState = new MemoryState();
    (await a.dial('alice', 'a2', { state: laptopState })).c.close();

    const g = await alice.groups.create({ groupname: 'Hikers', public: true, membersonly: true, maxusers: 10 }, ['bob']);
    assert.ok(g.id && g.conv_id);
    assert.equal(g.owner, 'alice');
    assert.equal(g.name, 'Hikers');
    assert.equal(g.affiliations_count, 2);
    const { id: gid, conv_id: conv } = g;
    await waitStream('bob', bl, conv, ['1 group_created']);
    const created = notice(bl, conv, 1);
    assert.equal(created.group, gid);
    assert.equal(created.owner, 'alice');
    assert.deepEqual(created.members, ['bob']);
    assert.equal(created.by, 'alice');

    assert.deepEqual(await carol.groups.apply(gid, 'I like hiking'), { joined: false });
    let e = await lastEvent(al, 'group_apply');
    assert.equal(e.from, 'carol');
    assert.equal(e.reason, 'I like hiking');
    await alice.groups.answerApplication(gid, 'carol', true, 'welcome');
    e = await lastEvent(cl, 'group_apply_accepted');
    assert.equal(e.from, 'alice');
    assert.equal(e.reason, 'welcome');
    await waitStream('carol', cl, conv, ['2 member_joined']);
    assert.deepEqual(notice(cl, conv, 2).users, ['carol']);
    await erin.groups.apply(gid, 'me too');
    await al.waitFor("erin's application", (l) => events(l, 'group_apply').length >= 2);
    await alice.groups.answerApplication(gid, 'erin', false, 'not now');
    assert.equal((await lastEvent(el, 'group_apply_declined')).reason, 'not now');

    assert.deepEqual(await alice.groups.invite(gid, ['dave', 'erin'], 'join us'), []);
    const { c: dave, log: dl } = await a.dial('dave', 'd1', { state: daveState });
    e = await lastEvent(dl, 'group_invite');
    assert.equal(e.from, 'alice');
    assert.equal(e.name, 'Hikers');
    assert.equal(e.reason, 'join us');
    await el.waitFor("erin's invitation", (l) => events(l, 'group_invite').length >= 1);
    await dave.groups.answerInvitation(gid, true);
    assert.equal((await lastEvent(al, 'group_invite_accepted')).from, 'dave');
    await erin.groups.answerInvitation(gid, false, 'busy');
    assert.equal((await lastEvent(al, 'group_invite_declined')).reason, 'busy');
    await waitStream('dave', dl, conv, ['3 member_joined']);

    await waitStream('bob', bl, conv, ['1 group_created', '2 member_joined', '3 member_joined']);
    const back = await goOffline(bobFault, bl);
    await alice.groups.kick(gid, ['bob']);
    await back();
    assert.equal((await lastEvent(bl, 'group_removed')).from, 'alice');
    await assert.rejects(bob.sendText(gid, 'still here?', 'groupchat'), (err) => isCode(err, 'not_group_member'));

    await carol.groups.quit(gid);
    await alice.groups.setAdmins(gid, ['dave'], true);
    await alice.groups.transfer(gid, 'dave');
    await assert.rejects(alice.groups.transfer(gid, 'alice'), (err) => isCode(err, 'group_forbidden'));

    await dave.groups.invite(gid, ['bob'], 'come back');
    assert.equal((await lastEvent(bl, 'group_invite')).reason, 'come back');
    await bob.groups.answerInvitation(gid, true, 'thanks');
    await dl.waitFor("bob's acceptance", (l) => events(l, 'group_invite_accepted').length >= 1);
    await waitStream('bob', bl, conv, ['1 group_created', '2 member_joined', '3 member_joined', '8 member_joined']);

    const all = ['1 group_created', '2 member_joined', '3 member_joined', '4 member_removed', '5 member_left',
      '6 admin_added', '7 owner_changed', '8 member_joined'];
    await waitStream('alice', al, conv, all);
    assert.deepEqual([notice(al, conv, 4).by, notice(al, conv, 4).users], ['alice', ['bob']]);
    assert.deepEqual([notice(al, conv, 5).by, notice(al, conv, 5).users], ['carol', ['carol']]);
    assert.deepEqual([notice(al, conv, 7).oldOwner, notice(al, conv, 7).newOwner], ['alice', 'dave']);
    await waitStream('dave', dl, conv, all.slice(2));
    assert.deepEqual(stream(cl, conv), all.slice(1, 4));
    assert.deepEqual(stream(el, conv), []);

    // alice's laptop, offline all along, gets the whole stream once; a new client with its state repeats nothing.
    const { c: laptop, log: ll } = await a.dial('alice', 'a2', { state: laptopState });
    await waitStream("alice's laptop", ll, conv, all);
    laptop.close();
    const { c: laptop2, log: ll2 } = await a.dial('alice', 'a2', { state: laptopState });
    await sleep(100);
    assert.deepEqual(stream(ll2, conv), []);
    laptop2.close();

    const info = await dave.groups.info(gid);
    assert.equal(info.owner, 'dave');
    assert.equal(info.affiliations_count, 3);
    const roles = Object.fromEntries((await dave.groups.allMembers(gid)).map((m) => [m.user, m.role]));
    assert.deepEqual(roles, { alice: 'admin', bob: 'member', dave: 'owner' });
    const mine = await alice.groups.allMine();
    assert.deepEqual(mine.map((g) => [g.id, g.name]), [[gid, 'Hikers']]);
    assert.deepEqual(await carol.groups.allMine(), []);

    await dave.groups.dissolve(gid);
    for (const [name, l] of Object.entries({ dave: dl, alice: al, bob: bl })) {
      const d = await lastEvent(l, 'group_destroyed');
      assert.equal(d.group, gid, name);
      assert.equal(d.from, 'dave', name);
    }
    await assert.rejects(alice.groups.info(gid), (err) => isCode(err, 'group_not_found'));
    const { log: ll3 } = await a.dial('alice', 'a2', { state: laptopState });
    await ll3.waitFor("the laptop's destroyed event", (l) => events(l, 'group_destroyed').length === 1);
    await sleep(100);
    assert.deepEqual(ll3.of('event').map((e) => e.kind), ['group_destroyed'], 'a known device gets only what it missed');
  });

  test('messages: every member once and in order; offline member; group acks; directed; shield', async () => {
    const a = await newApp(['alice', 'bob', 'carol', 'dave']);
    const { c: alice, log: al } = await a.dial('alice', 'a1');
    const { log: al2 } = await a.dial('alice', 'a2');
    const { c: bob, log: bl } = await a.dial('bob', 'b1');
    const carolFault = faultySocket(nodeSocket());
    const { c: carol, log: cl } = await a.dial('carol', 'c1', { socket: carolFault.factory });
    const daveState = new MemoryState();
    (await a.dial('dave', 'd1', { state: daveState })).c.close();

    const g = await alice.groups.create({ invite_need_confirm: false }, ['bob', 'carol']);
    const { id: gid, conv_id: conv } = g;
    await waitStream('carol', cl, conv, ['1 group_created']);
    const back = await goOffline(carolFault, cl);
    const acks = [];
    for (const [c, m] of [
      [alice, { body: { msg: 'one' } }],
      [bob, { body: { msg: 'two' }, needGroupAck: true }],
      [alice, { body: { msg: 'three' }, needGroupAck: true, ext: {} }],
    ]) {
      const ack = await c.send({ to: gid, chatType: 'groupchat', type: 'txt', ...m });
      assert.equal(ack.conv_id, conv);
      acks.push(ack);
    }
    await back();
    let want = ['1 group_created', '2 msg', '3 msg', '4 msg'];
    for (const [name, l] of Object.entries({ alice: al, 'alice 2': al2, bob: bl, carol: cl })) {
      await waitStream(name, l, conv, want);
      l.messages().forEach((it, i) => {
        assert.equal(it.chat_type, 'groupchat');
        assert.equal(it.to, gid);
        assert.equal(it.msg_id, acks[i].msg_id);
        assert.equal(!!it.need_group_ack, i > 0);
      });
      assert.deepEqual([l.messages()[1].body, l.messages()[1].from], [{ msg: 'two' }, 'bob']);
    }

    assert.deepEqual(await alice.groups.invite(gid, ['dave']), ['dave']);
    const ack5 = await alice.sendText(gid, 'five', 'groupchat');
    const { log: dl } = await a.dial('dave', 'd1', { state: daveState });
    await waitStream('dave', dl, conv, ['5 member_joined', '6 msg']);
    const h = await alice.history(conv, { limit: 1 });
    assert.equal(h.items[0].msg_id, ack5.msg_id);

    const m3 = acks[2].msg_id;
    await carol.markMessageRead(m3);
    await bob.markMessageRead(m3);
    await bob.markMessageRead(acks[0].msg_id); // no receipt asked
    await alice.markMessageRead(acks[1].msg_id);
    for (const [name, l] of Object.entries({ alice: al, 'alice 2': al2 })) {
      await l.waitFor(`${name}'s group acks`, (l) => l.of('groupAck').length >= 2);
      const got = l.of('groupAck');
      assert.equal(got.length, 2);
      assert.deepEqual(got.map((x) => [x.from, x.count, x.msg_id, x.group]), [['carol', 1, m3, gid], ['bob', 2, m3, gid]]);
    }
    await bl.waitFor("bob's group ack", (l) => l.of('groupAck').length >= 1);
    assert.equal(bl.of('groupAck')[0].from, 'alice');
    const page = await alice.groups.readers(m3, '', 1);
    assert.deepEqual([page.users, page.count], [['bob'], 2]);
    assert.ok(page.cursor);

    const dack = await alice.send({ to: gid, chatType: 'groupchat', type: 'txt', body: { msg: 'psst' }, directedTo: ['bob'] });
    assert.ok(!dack.seq);
    await bl.waitFor('the directed message', (l) => l.messages().some((m) => m.msg_id === dack.msg_id));
    const d = bl.messages().find((m) => m.msg_id === dack.msg_id);
    assert.ok(d.directed && !d.seq);

    await bob.groups.shield(gid, true);
    const ack7 = await alice.sendText(gid, 'seven', 'groupchat');
    want = [...want, '5 member_joined', '6 msg'];
    await waitStream('carol', cl, conv, [...want, '7 msg']);
    await bob.ping();
    await sleep(100);
    assert.deepEqual(stream(bl, conv), want, 'bob (shielded)');
    await bob.groups.shield(gid, false);
    await alice.sendText(gid, 'eight', 'groupchat');
    want = [...want, '7 msg', '8 msg'];
    await waitStream('bob (unshielded: the gap is pulled)', bl, conv, want);
    assert.ok(bl.messages().some((m) => m.msg_id === ack7.msg_id));
    for (const l of [cl, dl, al]) assert.ok(!l.messages().some((m) => m.directed));
  });

  test('mentions', async () => {
    const { alice, bob, carol, al, bl, cl, gid, conv } = await trio();
    await alice.send({ to: gid, chatType: 'groupchat', type: 'txt', body: { msg: '@bob look' }, mentions: ['bob'], ext: { k: 'v' } });
    await bl.waitFor('the mention', (l) => l.messages().length >= 1);
    await cl.waitFor('the message', (l) => l.messages().length >= 1);
    assert.equal(bl.of('message')[0].mentioned, true);
    assert.equal(cl.of('message')[0].mentioned, false);
    assert.deepEqual(bl.messages()[0].ext, { k: 'v', em_at_list: ['bob'] });
    const list = await bob.conversations(10);
    assert.equal(list.conversations.find((c) => c.conv_id === conv).mentioned, true);
    await bob.markRead(conv);
    assert.ok(!(await bob.conversations(10)).conversations.find((c) => c.conv_id === conv).mentioned);
    await carol.send({ to: gid, chatType: 'groupchat', type: 'txt', body: { msg: 'all' }, mentionAll: true });
    await al.waitFor('the @all', (l) => l.messages().length >= 2);
    assert.equal(al.of('message')[1].mentioned, true);
    await assert.rejects(alice.send({ to: 'bob', type: 'txt', body: { msg: 'x' }, mentions: ['bob'] }), (e) => isCode(e, 'illegal_argument'));
  });

  test('recall: by the sender; by the owner and admins any member\'s', async () => {
    const { alice, bob, carol, al, bl, cl, gid, conv } = await trio();
    const m1 = (await bob.sendText(gid, 'oops', 'groupchat')).msg_id;
    await bob.recall(m1);
    const m2 = (await carol.sendText(gid, 'spam', 'groupchat')).msg_id;
    await assert.rejects(bob.recall(m2), (e) => isCode(e, 'recall_not_allowed'));
    await alice.recall(m2);
    await alice.groups.setAdmins(gid, ['bob'], true);
    const m3 = (await carol.sendText(gid, 'more spam', 'groupchat')).msg_id;
    await bob.recall(m3);
    const want = ['1 group_created', '2 msg', '3 recall', '4 msg', '5 recall', '6 admin_added', '7 msg', '8 recall'];
    const senders = { [m1]: 'bob', [m2]: 'carol', [m3]: 'carol' };
    for (const [name, l] of Object.entries({ alice: al, bob: bl, carol: cl })) {
      await waitStream(name, l, conv, want);
      for (const r of l.of('recall')) assert.equal(r.item.from, senders[r.item.target]);
    }
    const { items } = await carol.history(conv);
    assert.equal(items.length, 3);
    assert.ok(items.every((it) => it.recalled));
  });

  test('mutes', async () => {
    const t = await trio();
    const { alice, bob, carol, bl, gid, conv } = t;
    const send = async (c, code) => {
      const p = c.sendText(gid, 'hi', 'groupchat');
      if (code) await assert.rejects(p, (e) => isCode(e, code), `${c.user} sends`);
      else await p;
    };
    const before = Date.now();
    await alice.groups.mute(gid, ['carol'], 60000);
    await send(carol, 'group_muted');
    await send(bob);
    await alice.groups.mute(gid, ['carol'], 0);
    await send(carol);
    await alice.groups.muteAll(gid, true);
    await send(bob, 'group_muted');
    await send(alice);
    await alice.groups.setAllowed(gid, ['bob'], true);
    await send(bob);
    await send(carol, 'group_muted');
    await alice.groups.muteAll(gid, false);
    await send(carol);
    for (const secs of [60, 0]) {
      const r = await t.a.rest('POST', '/mutes', { username: 'carol', groupchat: secs });
      assert.equal(r.status, 200);
      await send(carol, secs ? 'user_muted' : undefined);
    }
    await waitStream('bob', bl, conv, ['1 group_created', '2 member_muted', '3 msg', '4 member_unmuted', '5 msg',
      '6 mute_all', '7 msg', '8 msg', '9 unmute_all', '10 msg', '11 msg']);
    const n = notice(bl, conv, 2);
    assert.equal(n.by, 'alice');
    assert.deepEqual(n.users, ['carol']);
    assert.ok(n.until >= before + 59000 && n.until <= Date.now() + 61000);
  });

  test('retries: an idempotent op is repeated after a lost reply; quit is not', async () => {
    const a = await newApp(['alice', 'bob']);
    const af = faultySocket(nodeSocket());
    const bf = faultySocket(nodeSocket());
    const { c: alice } = await a.dial('alice', 'a1', { socket: af.factory });
    const { c: bob } = await a.dial('bob', 'b1', { socket: bf.factory });
    const g = await alice.groups.create({}, ['bob']);
    af.dropReplyTo = (req) => req.t === 'group' && req.op === 'announce';
    await alice.groups.announce(g.id, 'repeated');
    bf.dropReplyTo = (req) => req.t === 'group' && req.op === 'quit';
    await assert.rejects(bob.groups.quit(g.id), (e) => e instanceof ConnectionLostError);
    const info = await alice.groups.info(g.id);
    assert.equal(info.announcement, 'repeated');
    assert.equal(info.affiliations_count, 1);
  });
});
