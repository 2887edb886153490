// End-to-end: chat rooms, the scenarios of sdk/go/e2e_rooms_test.go.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ConnectionLostError, isCode, nodeSocket } from '../dist/esm/node/index.js';
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
async function newRoom(a, owner, maxusers) {
  const r = await a.rest('POST', '/chatrooms', { name: 'live', owner, maxusers });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.data.id;
}
const texts = (l, room) => l.of('roomMessage').filter((it) => it.to === room).map((it) => it.body.msg);
async function waitTexts(who, l, room, want) {
  await l.waitFor(`${who}'s room messages ${want}`, (l) => texts(l, room).length >= want.length);
  assert.deepEqual(texts(l, room), want, who);
}
const roomEvents = (l, kind) => l.of('roomEvent').filter((e) => e.kind === kind);
async function lastRoomEvent(who, l, kind, n = 1) {
  await l.waitFor(`${who}'s ${kind} room event #${n}`, (l) => roomEvents(l, kind).length >= n);
  const all = roomEvents(l, kind);
  return all[all.length - 1];
}
async function roomUsers(who, l, room, kind, ...users) {
  const seen = () => new Set(roomEvents(l, kind).filter((e) => e.room === room).flatMap((e) => e.users ?? []));
  await l.waitFor(`${who} sees ${kind} ${users}`, () => users.every((u) => seen().has(u)));
}
const send = (c, room, msg, priority) => c.send({ to: room, chatType: 'chatroom', type: 'txt', body: { msg }, priority });

describe('rooms', () => {
  test('messages: recent on join, live once with priority, live only, never repeated', async () => {
    const a = await newApp(['host', 'alice', 'bob'], ['room_recent_messages=3']);
    const room = await newRoom(a, 'host', 100);
    const { c: host, log: hl } = await a.dial('host', 'h1');
    const { log: hl2 } = await a.dial('host', 'h2');
    const af = faultySocket(nodeSocket());
    const { c: alice, log: al } = await a.dial('alice', 'a1', { socket: af.factory });
    const { c: bob, log: bl } = await a.dial('bob', 'b1');

    for (let i = 0; i < 5; i++) {
      const ack = await send(host, room, `m${i}`);
      assert.ok(ack.msg_id && !ack.seq);
    }
    await waitTexts("host's other device", hl2, room, ['m0', 'm1', 'm2', 'm3', 'm4']);
    const joined = await alice.rooms.join(room);
    assert.deepEqual([joined.room.id, joined.room.owner, joined.room.name, joined.room.maxusers], [room, 'host', 'live', 100]);
    assert.deepEqual(joined.recent.map((it) => it.body.msg), ['m2', 'm3', 'm4']);
    for (const it of joined.recent) assert.deepEqual([it.chat_type, it.to, it.from, it.seq || 0], ['chatroom', room, 'host', 0]);
    await bob.rooms.join(room);
    for (const [name, l] of Object.entries({ host: hl, alice: al, bob: bl })) await roomUsers(name, l, room, 'members_joined', 'bob');
    await roomUsers('host', hl, room, 'members_joined', 'alice', 'bob');

    const hi = await send(host, room, 'high', 'high');
    await send(alice, room, 'low', 'low');
    await send(bob, room, 'plain');
    await alice.sendText(room, 'text', 'chatroom');
    for (const [name, l, want] of [
      ['host', hl, ['low', 'plain', 'text']],
      ["host's other", hl2, ['m0', 'm1', 'm2', 'm3', 'm4', 'high', 'low', 'plain', 'text']],
      ['alice', al, ['high', 'plain']],
      ['bob', bl, ['high', 'low', 'text']],
    ]) {
      await waitTexts(name, l, room, want);
      for (const it of l.of('roomMessage')) {
        const want = { high: 'high', low: 'low' }[it.body.msg] ?? 'normal';
        assert.equal(it.chatroom_msg_level ?? 'normal', want, `${name}: ${it.body.msg}`);
        if (it.body.msg === 'high') assert.equal(it.msg_id, hi.msg_id);
      }
      assert.equal(l.messages().length, 0, `${name} got room messages as conversation messages`);
    }

    // Live only: alice misses what is sent while she is away.
    af.offline = true;
    af.drop();
    await al.waitFor('the disconnect', (l) => l.of('connection').some((e) => e.state === 'disconnected'));
    await send(host, room, 'while away');
    await waitTexts('bob', bl, room, ['high', 'low', 'text', 'while away']);
    af.offline = false;
    await al.waitFor("alice's resync", (l) => l.of('connection').filter((e) => e.state === 'resynced').length >= 2);
    await send(host, room, 'after');
    await waitTexts('alice', al, room, ['high', 'plain', 'after']);

    // A room send whose ack is lost fails and is not repeated.
    af.dropReplyTo = (req) => req.t === 'send' && req.chat_type === 'chatroom';
    await assert.rejects(alice.sendText(room, 'lost ack', 'chatroom'), (e) => e instanceof ConnectionLostError);
    await al.waitFor("alice's second resync", (l) => l.of('connection').filter((e) => e.state === 'resynced').length >= 3);
    await send(alice, room, 'next');
    await waitTexts('bob', bl, room, ['high', 'low', 'text', 'while away', 'after', 'lost ack', 'next']);

    await bob.rooms.leave(room);
    await roomUsers('host', hl, room, 'members_left', 'bob');
    await assert.rejects(bob.sendText(room, 'still here?', 'chatroom'), (e) => isCode(e, 'not_room_member'));
    await send(host, room, 'bye');
    await waitTexts('alice', al, room, ['high', 'plain', 'after', 'bye']);
    assert.deepEqual(texts(bl, room), ['high', 'low', 'text', 'while away', 'after', 'lost ack', 'next']);
    assert.deepEqual(await bob.rooms.allMine(), []);
    assert.deepEqual((await alice.rooms.allMine()).map((r) => r.id), [room]);
    for (const l of [hl, al, bl]) assert.equal(l.of('event').length + l.of('broadcast').length, 0);
  });

  test('attributes', async () => {
    const a = await newApp(['host', 'alice', 'bob']);
    const room = await newRoom(a, 'host', 100);
    const { c: host, log: hl } = await a.dial('host', 'h1');
    const { c: alice } = await a.dial('alice', 'a1');
    const { c: bob, log: bl } = await a.dial('bob', 'b1');
    for (const c of [alice, bob]) await c.rooms.join(room);

    let r = await alice.rooms.setAttributes(room, { seat: 'A1', topic: 'go' }, { autoDelete: true });
    assert.deepEqual([r.success.sort(), r.errors], [['seat', 'topic'], {}]);
    for (const [name, l] of Object.entries({ host: hl, bob: bl })) {
      const e = await lastRoomEvent(name, l, 'attrs_set');
      assert.deepEqual([e.room, e.by, e.attrs], [room, 'alice', { seat: 'A1', topic: 'go' }]);
    }
    r = await bob.rooms.setAttributes(room, { topic: 'rust', mood: 'calm' });
    assert.deepEqual(r.success, ['mood']);
    assert.ok(r.errors.topic);
    await assert.rejects(bob.rooms.setAttributes(room, { topic: 'rust' }, { force: true }), (e) => isCode(e, 'room_forbidden'));
    r = await host.rooms.setAttributes(room, { topic: 'zig' }, { force: true });
    assert.deepEqual(r.success, ['topic']);
    const forced = await lastRoomEvent('bob', bl, 'attrs_set', 3);
    assert.deepEqual([forced.by, forced.attrs.topic], ['host', 'zig']);
    await alice.rooms.leave(room);
    const auto = await lastRoomEvent('bob', bl, 'attrs_deleted');
    assert.deepEqual(auto.keys, ['seat']);
    assert.deepEqual(await bob.rooms.attributes(room), { topic: 'zig', mood: 'calm' });
    assert.deepEqual(await bob.rooms.attributes(room, ['mood']), { mood: 'calm' });
    r = await bob.rooms.deleteAttributes(room, ['mood', 'topic']);
    assert.deepEqual(r.success, ['mood']);
    assert.ok(r.errors.topic);
    r = await host.rooms.deleteAttributes(room, ['topic'], true);
    assert.deepEqual(r.success, ['topic']);
    const del = await lastRoomEvent('bob', bl, 'attrs_deleted', 3);
    assert.deepEqual([del.keys, del.by], [['topic'], 'host']);
    assert.deepEqual(await host.rooms.attributes(room), {});
    await assert.rejects(alice.rooms.attributes(room), (e) => isCode(e, 'not_room_member'));
  });

  test('management: kick, mutes, mute-all, admins, announcement, update, block, transfer, delete', async () => {
    const a = await newApp(['host', 'alice', 'bob', 'carol']);
    const room = await newRoom(a, 'host', 100);
    const { c: host, log: hl } = await a.dial('host', 'h1');
    const { c: alice, log: al } = await a.dial('alice', 'a1');
    const { c: bob, log: bl } = await a.dial('bob', 'b1');
    const { c: carol, log: cl } = await a.dial('carol', 'c1');
    for (const c of [alice, bob, carol]) await c.rooms.join(room);
    const logs = { host: hl, alice: al, carol: cl };
    const say = async (c, code) => {
      const p = c.sendText(room, 'hi', 'chatroom');
      if (code) return assert.rejects(p, (e) => isCode(e, code), `${c.user} sends`);
      const ack = await p;
      // Wait until another member has it, so the fan-out is over before the next change.
      const other = Object.entries(logs).find(([n]) => n !== c.user)[1];
      await other.waitFor('the message', (l) => l.of('roomMessage').some((it) => it.msg_id === ack.msg_id));
    };

    await host.rooms.kick(room, ['bob']);
    const removed = await lastRoomEvent('bob', bl, 'removed');
    assert.deepEqual([removed.room, removed.by], [room, 'host']);
    await roomUsers('alice', al, room, 'members_left', 'bob');
    await say(bob, 'not_room_member');

    const before = Date.now();
    await host.rooms.mute(room, ['alice'], 60000);
    const muted = await lastRoomEvent('carol', cl, 'muted');
    assert.deepEqual([muted.users, muted.by], [['alice'], 'host']);
    assert.ok(muted.until >= before + 59000 && muted.until <= Date.now() + 61000);
    await say(alice, 'room_muted');
    await say(carol);
    await host.rooms.mute(room, ['alice'], 0);
    await lastRoomEvent('carol', cl, 'unmuted');
    await say(alice);
    await host.rooms.mute(room, ['carol'], -1);
    assert.equal((await lastRoomEvent('alice', al, 'muted', 2)).until, -1);
    await say(carol, 'room_muted');
    for (const m of await host.rooms.allMembers(room)) assert.equal(m.user === 'carol', m.mute_until === -1, m.user);
    await host.rooms.mute(room, ['carol'], 0);
    await lastRoomEvent('alice', al, 'unmuted', 2);

    await host.rooms.muteAll(room, true);
    assert.equal((await lastRoomEvent('alice', al, 'mute_all')).by, 'host');
    await say(alice, 'room_muted');
    await say(host);
    await host.rooms.setAllowed(room, ['alice'], true);
    await say(alice);
    await say(carol, 'room_muted');
    await host.rooms.setAllowed(room, ['alice'], false);
    await say(alice, 'room_muted');
    await host.rooms.muteAll(room, false);
    await lastRoomEvent('alice', al, 'unmute_all');
    await say(carol);

    await host.rooms.setAdmins(room, ['alice'], true);
    await alice.rooms.mute(room, ['carol'], 60000);
    assert.equal((await lastRoomEvent('host', hl, 'muted', 3)).by, 'alice');
    await assert.rejects(alice.rooms.mute(room, ['host'], 60000), (e) => isCode(e, 'room_forbidden'));
    await assert.rejects(carol.rooms.mute(room, ['alice'], 60000), (e) => isCode(e, 'room_forbidden'));
    await alice.rooms.mute(room, ['carol'], 0);
    const roles = Object.fromEntries((await carol.rooms.allMembers(room)).map((m) => [m.user, m.role]));
    assert.deepEqual(roles, { host: 'owner', alice: 'admin', carol: 'member' });

    await alice.rooms.announce(room, 'welcome');
    const ann = await lastRoomEvent('carol', cl, 'announcement');
    assert.deepEqual([ann.text, ann.by], ['welcome', 'alice']);
    await host.rooms.update(room, { groupname: 'Live!', maxusers: 50 });
    const upd = await lastRoomEvent('carol', cl, 'updated');
    assert.deepEqual([upd.keys, upd.by], [['name', 'maxusers'], 'host']);
    const info = await carol.rooms.info(room);
    assert.deepEqual([info.name, info.maxusers, info.announcement, info.affiliations_count, info.mute], ['Live!', 50, 'welcome', 3, false]);

    await alice.rooms.setBlocked(room, ['carol'], true);
    assert.equal((await lastRoomEvent('carol', cl, 'removed')).by, 'alice');
    await roomUsers('alice', al, room, 'members_left', 'carol');
    await assert.rejects(carol.rooms.join(room), (e) => isCode(e, 'room_blocked'));
    await alice.rooms.setBlocked(room, ['carol'], false);
    const joins = roomEvents(al, 'members_joined').length;
    await carol.rooms.join(room);
    await lastRoomEvent('alice', al, 'members_joined', joins + 1);

    await host.rooms.transfer(room, 'carol');
    const owner = await lastRoomEvent('alice', al, 'owner_changed');
    assert.deepEqual([owner.users, owner.by], [['carol'], 'host']);
    await assert.rejects(host.rooms.delete(room), (e) => isCode(e, 'room_forbidden'));
    await carol.rooms.delete(room);
    await assert.rejects(alice.rooms.info(room), (e) => isCode(e, 'room_not_found'));
    const bobs = bl.of('roomEvent');
    assert.equal(bobs[bobs.length - 1].kind, 'removed', 'bob heard nothing after his removal');
  });

  test('create: super admins only; lists and members', async () => {
    const a = await newApp(['alice', 'bob', 'carol']);
    const { c: alice } = await a.dial('alice', 'a1');
    const { c: bob } = await a.dial('bob', 'b1');
    await assert.rejects(alice.rooms.create({ groupname: 'mine' }), (e) => isCode(e, 'room_forbidden'));
    assert.equal((await a.rest('POST', '/chatrooms/super_admin', { superadmin: 'alice' })).status, 200);
    const r = await alice.rooms.create({ groupname: 'mine', description: 'about', custom: 'c' }, ['bob']);
    assert.deepEqual([r.owner, r.name, r.description, r.custom, r.maxusers], ['alice', 'mine', 'about', 'c', 1000]);
    const info = await bob.rooms.info(r.id);
    assert.equal(info.affiliations_count, 2);
    for (const c of [alice, bob]) assert.deepEqual((await c.rooms.allMine()).map((x) => x.id), [r.id]);
    const second = await alice.rooms.create({ groupname: 'second' });
    const page = await alice.rooms.mine('', 1);
    assert.equal(page.rooms.length, 1);
    assert.ok(page.cursor);
    assert.equal((await alice.rooms.allMine()).length, 2);
    const mp = await alice.rooms.members(r.id, '', 1);
    assert.equal(mp.members.length, 1);
    assert.ok(mp.cursor);
    assert.equal((await alice.rooms.allMembers(r.id)).length, 2);
    assert.equal((await a.rest('DELETE', '/chatrooms/super_admin/alice')).status, 200);
    await assert.rejects(alice.rooms.create({ groupname: 'third' }), (e) => isCode(e, 'room_forbidden'));
    await alice.rooms.delete(second.id);
    await sleep(10);
  });
});
