// End-to-end: friends, block lists, attributes, presence and broadcasts,
// the scenarios of sdk/go/e2e_people_test.go and the broadcast test.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MemoryState, createClient, isCode, nodeSocket } from '../dist/esm/node/index.js';
import { EventLog, faultySocket, hasMessages, sleep, startServer } from './harness.mjs';

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
const kinds = (l) => l.of('event').map((e) => e.kind);
const hasEvents = (kind, n) => (l) => l.of('event').filter((e) => e.kind === kind).length >= n;

/** A device with a persistent state: dial it again to get a new Client of the same installation. */
function device(a, user, resource, extra = {}) {
  const state = new MemoryState();
  const d = {
    all: [], // every event of every Client of this device
    async dial() {
      const { c, log } = await a.dial(user, resource, { state, ...extra });
      c.on('event', (e) => d.all.push(e.kind));
      // events emitted during connect happened before this listener:
      d.all.push(...log.of('event').map((e) => e.kind));
      return { c, log };
    },
    async known() {
      (await d.dial()).c.close();
      return d;
    },
  };
  return d;
}

describe('people', () => {
  test('a friend request while offline reaches every device once', async () => {
    const a = await newApp(['alice', 'bob']);
    const a1 = device(a, 'alice', 'a1');
    const a2 = await device(a, 'alice', 'a2').known();
    const b1 = await device(a, 'bob', 'b1').known();
    const b2 = await device(a, 'bob', 'b2').known();

    const { c: alice, log: al } = await a1.dial();
    await alice.people.requestContact('bob', 'we met at the conference');
    await al.waitFor("alice's own request", hasEvents('contact_request', 1));

    const { c: bob1, log: bl1 } = await b1.dial();
    const { c: bob2, log: bl2 } = await b2.dial();
    for (const l of [bl1, bl2]) {
      await l.waitFor('the request', hasEvents('contact_request', 1));
      const e = l.of('event')[0];
      assert.deepEqual([e.from, e.to, e.reason], ['alice', 'bob', 'we met at the conference']);
    }
    const reqs = await bob1.people.contactRequests();
    assert.deepEqual(reqs.map((r) => [r.from, r.reason]), [['alice', 'we met at the conference']]);

    alice.close();
    await bob1.people.acceptContact('alice');
    await bl1.waitFor("b1's own acceptance", hasEvents('contact_accepted', 1));
    await bl2.waitFor('the acceptance pushed to b2', hasEvents('contact_accepted', 1));

    const { c: alice1, log: al1 } = await a1.dial();
    const { c: alice2, log: al2 } = await a2.dial();
    for (const l of [al1, al2]) await l.waitFor('the acceptance', hasEvents('contact_accepted', 1));
    assert.deepEqual((await alice1.people.allContacts()).map((c) => c.user), ['bob']);

    // Coming back again repeats nothing, though the rounds overlap by 30 s.
    alice1.close();
    await a1.dial();
    bob2.close();
    await b2.dial();
    alice2.close();
    await a2.dial();
    await sleep(200);
    for (const [name, d] of Object.entries({ a1, a2, b1, b2 })) {
      assert.deepEqual(d.all, ['contact_request', 'contact_accepted'], name);
    }

    // New devices: without history they start now; with it they get all that is retained, once.
    const fresh = device(a, 'alice', 'a3');
    await fresh.dial();
    await sleep(100);
    assert.deepEqual(fresh.all, []);
    const hist = device(a, 'alice', 'a4', { eventHistory: true });
    for (let i = 0; i < 2; i++) (await hist.dial()).c.close();
    assert.deepEqual(hist.all, ['contact_request', 'contact_accepted']);
  });

  test('attributes', async () => {
    const a = await newApp(['alice', 'bob']);
    const { c: phone, log: pl } = await a.dial('alice', 'phone');
    const { log: ll } = await a.dial('alice', 'laptop');
    const { c: bob, log: bl } = await a.dial('bob', 'b1');
    const set = { nickname: 'Ali', avatarurl: 'https://x/a.png', team: 'blue' };
    assert.deepEqual(await phone.people.setAttributes(set), set);
    for (const l of [ll, pl]) {
      await l.waitFor('the attrs event', hasEvents('attrs', 1));
      assert.deepEqual(l.of('event')[0].attrs, set);
    }
    assert.deepEqual(await phone.people.setAttributes({ team: '', sign: 'hi' }), { nickname: 'Ali', avatarurl: 'https://x/a.png', sign: 'hi' });
    await ll.waitFor('the second event', hasEvents('attrs', 2));
    assert.deepEqual(await bob.people.attributes(['alice', 'bob', 'nobody'], ['nickname', 'team']), { alice: { nickname: 'Ali' }, bob: {} });
    await assert.rejects(phone.people.setAttributes({ bio: 'x'.repeat(2040) }), (e) => isCode(e, 'attributes_too_large'));
    await phone.people.deleteAttributes();
    await ll.waitFor('the delete event', hasEvents('attrs', 3));
    assert.deepEqual(ll.of('event')[2].attrs ?? {}, {});
    assert.deepEqual((await bob.people.attributes(['alice'])).alice ?? {}, {});
    await pl.waitFor("the phone's own delete event", hasEvents('attrs', 3));
    await sleep(100);
    assert.equal(pl.of('event').length, 3);
    assert.equal(bl.of('event').length, 0);
  });

  test('presence', async () => {
    const a = await newApp(['alice', 'bob', 'carol']);
    const { c: alice, log: al } = await a.dial('alice', 'a1');
    const pr = await alice.people.subscribePresence(['bob'], 3600);
    assert.equal(pr.length, 1);
    assert.deepEqual([pr[0].user, pr[0].online], ['bob', false]);
    assert.ok(pr[0].expiry >= Date.now() + 59 * 60000);
    const within = async (what, act, match) => {
      const seen = al.of('presence').length;
      await act();
      await al.waitFor(what, (l) => l.of('presence').slice(seen).some(match), 2000);
    };
    let bob;
    await within('bob online', async () => ({ c: bob } = await a.dial('bob', 'b1')),
      (p) => p.user === 'bob' && p.online && JSON.stringify(p.devices) === '["b1"]');
    await within("bob's status", () => bob.people.publishPresence('in a meeting'), (p) => p.user === 'bob' && p.status === 'in a meeting');
    await within('bob offline', () => bob.close(), (p) => p.user === 'bob' && !p.online && p.status === 'in a meeting');
    const now = await alice.people.presence(['bob', 'nobody']);
    assert.equal(now.length, 1);
    assert.deepEqual([now[0].online, now[0].status], [false, 'in a meeting']);
    assert.ok(now[0].updated > 0);
    await alice.people.unsubscribePresence(['bob']);
    const before = al.of('presence').length;
    await alice.people.subscribePresence(['carol'], 60);
    await a.dial('bob', 'b1');
    await within('carol online', () => a.dial('carol', 'c1'), (p) => p.user === 'carol' && p.online);
    assert.ok(!al.of('presence').slice(before).some((p) => p.user === 'bob'));
    assert.equal(al.of('event').length, 0);
  });

  test('contacts and block lists', async () => {
    const a = await newApp(['alice', 'bob', 'carol', 'dave', 'erin']);
    const { c: alice, log: al } = await a.dial('alice', 'a1');
    const { c: bob, log: bl } = await a.dial('bob', 'b1');
    const { c: carol, log: cl } = await a.dial('carol', 'c1');
    const { c: dave } = await a.dial('dave', 'd1');

    await alice.people.requestContact('bob', 'hi');
    await al.waitFor("alice's request", hasEvents('contact_request', 1));
    await bl.waitFor("bob's request", hasEvents('contact_request', 1));
    await bob.people.declineContact('alice');
    await al.waitFor('the decline', hasEvents('contact_declined', 1));
    assert.deepEqual(await bob.people.contactRequests(), []);
    await alice.people.requestContact('dave');
    await al.waitFor("alice's second request", hasEvents('contact_request', 2));
    await dave.people.requestContact('alice');
    await al.waitFor("dave's acceptance", hasEvents('contact_accepted', 1));
    for (const f of ['carol', 'erin']) assert.equal((await a.rest('POST', `/users/alice/contacts/users/${f}`)).status, 200);
    await al.waitFor('the added friends', hasEvents('contact_added', 2));
    await cl.waitFor("carol's added event", hasEvents('contact_added', 1));

    await alice.people.setRemark('carol', 'Caz');
    const page = await alice.people.contacts('', 2);
    assert.equal(page.contacts.length, 2);
    assert.ok(page.cursor);
    const rest = await alice.people.contacts(page.cursor, 2);
    assert.deepEqual([rest.contacts.length, rest.cursor], [1, '']);
    const friends = Object.fromEntries([...page.contacts, ...rest.contacts].map((c) => [c.user, c.remark ?? '']));
    assert.deepEqual(friends, { carol: 'Caz', dave: '', erin: '' });
    assert.equal((await alice.people.allContacts()).length, 3);

    await carol.people.removeContact('alice');
    await al.waitFor('the removal', hasEvents('contact_removed', 1));
    const removed = al.of('event').filter((e) => e.kind === 'contact_removed')[0];
    assert.deepEqual([removed.from, removed.to], ['carol', 'alice']);

    await alice.people.block(['bob', 'carol', 'dave']);
    await al.waitFor('the block', hasEvents('blocked', 1));
    assert.deepEqual(al.of('event').find((e) => e.kind === 'blocked').users, ['bob', 'carol', 'dave']);
    await assert.rejects(bob.sendText('alice', 'hello?'), (e) => isCode(e, 'blocked'));
    const bpage = await alice.people.blocked('', 2);
    assert.equal(bpage.users.length, 2);
    assert.ok(bpage.cursor);
    await alice.people.unblock('carol');
    await al.waitFor('the unblock', hasEvents('unblocked', 1));
    const all = [...bpage.users, ...(await alice.people.blocked(bpage.cursor, 2)).users].filter((u) => u !== 'carol');
    assert.deepEqual((await alice.people.blocked('', 500)).users, ['bob', 'dave']);
    assert.ok(all.length >= 1);
    await assert.rejects(alice.people.block(['erin', 'ghost']), (e) => isCode(e, 'user_not_found'));
    await al.waitFor('the partial block', hasEvents('blocked', 2));
    assert.deepEqual(kinds(al), ['contact_request', 'contact_declined', 'contact_request', 'contact_accepted',
      'contact_added', 'contact_added', 'contact_removed', 'blocked', 'unblocked', 'blocked']);
  });

  test('broadcasts: app-wide once per device (also offline), online-only live', async () => {
    const a = await newApp(['alice', 'bob']);
    const bobDev = await device(a, 'bob', 'b1').known();
    const { log: al } = await a.dial('alice', 'a1');
    let r = await a.rest('POST', '/messages/broadcast', { target_type: 'users', msg: { type: 'txt', msg: 'to all' } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await al.waitFor('the app-wide broadcast', (l) => l.of('broadcast').length >= 1);
    const b = al.of('broadcast')[0];
    assert.ok(b.id);
    assert.deepEqual(b.item.body, { msg: 'to all' });
    const { log: bl } = await bobDev.dial();
    await bl.waitFor("offline bob's broadcast", (l) => l.of('broadcast').length >= 1);
    r = await a.rest('POST', '/messages/users/broadcast', { msg: { type: 'txt', msg: 'online only' } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await al.waitFor('the online broadcast', (l) => l.of('broadcast').length >= 2);
    assert.ok(!al.of('broadcast')[1].id);
    await sleep(100);
    assert.equal(al.of('broadcast').length, 2);
  });
});
