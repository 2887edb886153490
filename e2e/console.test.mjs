// The web console in a real browser against the real server (issue 10,
// acceptance 1 and 2): Debian's Chromium, driven by playwright-core,
// against the `parley` binary on a random port with a fresh data directory.
//
// The steps share one browser page and build on each other: sign in, create
// an app, create a user and ban/unban it, look up a conversation made through
// the REST API and recall a message, watch the dashboard count a client that
// connects over the WebSocket protocol, send a broadcast that client receives,
// manage a group and rooms, create a viewer account and read the audit log,
// switch the language (and find it remembered), check every page in both
// languages for text that is not from the dictionary (screenshots of each),
// then sign in as the viewer and find nothing that can be changed.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launch } from './browser.mjs';
import { startParley, Rest, connect, png } from './parley.mjs';
import { LANGS, dictionary, translator } from './dict.mjs';
import { untranslated } from './untranslated.mjs';

const OWNER_PASSWORD = 'owner-e2e-password-1';
const VIEWER = { username: 'watcher', password: 'watcher-e2e-password-1' };
const APP_ADMIN = { username: 'ops', password: 'ops-e2e-password-123' };
const DICTS = Object.fromEntries(LANGS.map((l) => [l, dictionary(l)]));
const TR = Object.fromEntries(LANGS.map((l) => [l, translator(l)]));

const artifacts = process.env.PARLEY_E2E_ARTIFACTS || fs.mkdtempSync(path.join(os.tmpdir(), 'parley-console-e2e-'));
fs.mkdirSync(artifacts, { recursive: true });

let server;
let browser;
let page;
let rest; // the app's REST API with its app token
let device; // alice's WebSocket connection
let lang = 'en';
const T = (key, params) => TR[lang](key, params);
const ids = {}; // what the REST setup created: group, room, oldRoom

// Problems the page reports: console errors, uncaught exceptions, CSP
// violations. Expected failed requests are allowed while `expecting` is set.
const problems = [];
let expecting = null;

async function checkTranslated(what) {
  const bad = await page.evaluate(untranslated, { dict: DICTS[lang], title: DICTS[lang]['app.title'], titleSuffix: true });
  assert.deepEqual(bad, [], `${what} (${lang}): text that is not from the dictionary`);
}

async function shot(name) {
  await page.screenshot({ path: path.join(artifacts, `${lang}-${name}.png`), fullPage: true });
}

// go opens a route of the console and waits until its page has loaded.
async function go(route) {
  await page.evaluate(() => document.getElementById('main')?.removeAttribute('data-ready'));
  const url = `${server.base}/console/#/${route}`;
  if (page.url() === url) await page.reload();
  else await page.goto(url);
  await page.waitForSelector('#main[data-ready]');
}

const dialog = () => page.locator('dialog[open]');
const toast = (text) => page.locator('#toasts .toast', { hasText: text });
const fact = (label) => page.locator('dt', { hasText: label }).locator('xpath=following-sibling::dd[1]');

async function signIn(username, password) {
  await page.fill('#signin-username', username);
  await page.fill('#signin-password', password);
  await page.click('.signin-form button[type=submit]');
}

async function until(fn, what, ms = 10000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  server = await startParley({ artifacts, ownerPassword: OWNER_PASSWORD });
  browser = await launch();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
  page = await context.newPage();
  page.setDefaultTimeout(10000);
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const where = m.location()?.url || '';
    if (expecting && expecting.test(`${m.text()} ${where}`)) return;
    problems.push(`console: ${m.text()} ${where}`);
  });
  page.on('pageerror', (e) => problems.push(`exception: ${e.message}`));
});

after(async () => {
  device?.close();
  await browser?.close();
  await server?.stop();
  console.log(`# screenshots and the server log: ${artifacts}`);
});

describe('web console', () => {
  it('signs in, after refusing a wrong password', async () => {
    expecting = /status of 40[013].*\/console\/api\/session/;
    await page.goto(`${server.base}/console/`);
    await page.waitForSelector('#signin-username');
    assert.equal(await page.getAttribute('html', 'lang'), 'en', 'the browser language (en-US) is the default');
    await checkTranslated('sign-in page');
    await shot('signin');
    await signIn('owner', 'not-the-password');
    await page.locator('.signin-form [role=alert]', { hasText: T('signin.failed') }).waitFor();
    await signIn('owner', OWNER_PASSWORD);
    await page.waitForSelector('#shell:not([hidden]) #main[data-ready]');
    expecting = null;
    assert.equal(await page.locator('#main h1').textContent(), T('nav.dashboard'));
    assert.equal(await page.locator('#account-link .account-name').textContent(), 'owner');
  });

  it('creates an app and shows its credentials; the secret is real', async () => {
    await go('apps');
    await page.locator('.page-actions').getByRole('button', { name: T('apps.create') }).click();
    await dialog().getByLabel(T('apps.org'), { exact: true }).fill('acme');
    await dialog().getByLabel(T('apps.app'), { exact: true }).fill('chat');
    await dialog().getByRole('button', { name: T('apps.create_submit') }).click();
    const secret = await dialog().locator('input.secret-value').inputValue();
    assert.ok(secret.length >= 16, `a client secret: ${secret}`);
    await dialog().getByRole('button', { name: T('common.done') }).click();
    await page.waitForURL(/#\/apps\/acme\/chat$/);
    await page.waitForSelector('#main[data-ready]');
    assert.equal(await page.locator('#main h1').textContent(), T('apps.app_title', { app: 'acme/chat' }));
    assert.equal(await fact(T('apps.appkey')).textContent(), 'acme#chat');
    const clientID = (await fact(T('apps.client_id')).textContent()).trim();
    assert.equal(await page.inputValue('#app-picker'), 'acme/chat');

    rest = new Rest(server.base, 'acme', 'chat');
    await rest.appToken(clientID, secret);

    // A setting, and a notifier.
    await page.getByLabel(T('setting.max_devices'), { exact: true }).fill('3');
    await page.getByRole('button', { name: T('common.save') }).click();
    await toast(T('apps.settings_saved')).waitFor();
    await page.getByRole('button', { name: T('notifiers.add') }).click();
    await dialog().getByLabel(T('notifiers.name'), { exact: true }).fill('devlog');
    await dialog().getByLabel(T('notifiers.provider'), { exact: true }).selectOption('log');
    await dialog().getByRole('button', { name: T('common.save') }).click();
    await toast(T('notifiers.saved')).waitFor();
    const notifier = page.locator('table.data tr', { hasText: 'devlog' });
    await notifier.waitFor();
    await notifier.getByRole('button', { name: T('notifiers.edit_title', { name: 'devlog' }) }).click();
    await dialog().getByLabel(T('notifiers.provider'), { exact: true }).selectOption('webhook');
    await dialog().getByLabel(T('notifiers.url'), { exact: true }).fill('https://relay.example.com/push');
    await dialog().getByRole('button', { name: T('common.save') }).click();
    await notifier.locator('.badge', { hasText: T('provider.webhook') }).waitFor();
    await page.getByRole('button', { name: T('notifiers.add') }).click();
    await dialog().getByLabel(T('notifiers.name'), { exact: true }).fill('spare');
    await dialog().getByLabel(T('notifiers.provider'), { exact: true }).selectOption('log');
    await dialog().getByRole('button', { name: T('common.save') }).click();
    const spare = page.locator('table.data tr', { hasText: 'spare' });
    await spare.getByRole('button', { name: T('notifiers.delete_title') }).click();
    await dialog().getByRole('button', { name: T('common.delete') }).click();
    await toast(T('notifiers.deleted')).waitFor();
    await until(async () => (await spare.count()) === 0, 'the deleted notifier to go');
    await go('apps/acme/chat');
    assert.equal(await page.getByLabel(T('setting.max_devices'), { exact: true }).inputValue(), '3');

    // Rotating the secret: the new one works, the old token does not.
    await page.getByRole('button', { name: T('apps.rotate') }).click();
    await dialog().getByRole('button', { name: T('apps.rotate_submit') }).click();
    const rotated = await dialog().locator('input.secret-value').inputValue();
    await dialog().getByRole('button', { name: T('common.done') }).click();
    assert.notEqual(rotated, secret);
    assert.equal((await rest.call('GET', '/users', undefined, { raw: true })).status, 401, 'the old app token is revoked');
    await rest.appToken(clientID, rotated);
  });

  it('sets up users, a conversation with an image, a group and rooms through the REST API', async () => {
    await rest.call('POST', '/users', [
      { username: 'alice', password: 'alice-pw', nickname: 'Alice' },
      { username: 'bob', password: 'bob-pw', nickname: 'Bob' },
    ]);
    const form = new FormData();
    form.append('file', new Blob([png(160, 120)], { type: 'image/png' }), 'gradient.png');
    const up = await rest.call('POST', '/chatfiles', form);
    const file = up.entities[0];
    await rest.call('POST', '/messages/users', { from: 'alice', to: ['bob'], type: 'img', body: { url: file.url, filename: 'gradient.png', secret: file['share-secret'], size: { width: 160, height: 120 } } });
    await rest.call('POST', '/messages/users', { from: 'alice', to: ['bob'], type: 'txt', body: { msg: 'hello bob' } });
    await rest.call('POST', '/messages/users', { from: 'bob', to: ['alice'], type: 'txt', body: { msg: 'hi alice' } });
    ids.group = (await rest.call('POST', '/chatgroups', { owner: 'alice', public: true, groupname: 'Team', description: 'The team', members: ['bob'] })).data.groupid;
    await rest.call('POST', '/messages/chatgroups', { from: 'bob', to: [ids.group], type: 'txt', body: { msg: 'hello team' } });
    ids.room = (await rest.call('POST', '/chatrooms', { name: 'Live', owner: 'alice', members: ['bob'] })).data.id;
    ids.oldRoom = (await rest.call('POST', '/chatrooms', { name: 'Old', owner: 'bob' })).data.id;
  });

  it('creates a user, bans and unbans it, edits it, finds it', async () => {
    await go('users');
    await page.locator('.page-actions').getByRole('button', { name: T('users.create') }).click();
    await dialog().getByLabel(T('users.username'), { exact: true }).fill('carol');
    await dialog().getByLabel(T('users.password'), { exact: true }).fill('carol-pw');
    await dialog().getByLabel(T('users.nickname'), { exact: true }).fill('Carol');
    await dialog().getByRole('button', { name: T('users.create_submit') }).click();
    await page.waitForURL(/#\/users\/carol$/);
    await page.waitForSelector('#main[data-ready]');
    assert.equal(await fact(T('users.status')).textContent(), T('users.active'));

    await page.getByRole('button', { name: T('users.ban'), exact: true }).click();
    await dialog().getByRole('button', { name: T('users.ban'), exact: true }).click();
    await toast(T('users.banned_done', { user: 'carol' })).waitFor();
    await page.locator('.facts .badge', { hasText: T('users.banned') }).waitFor();
    assert.equal((await rest.call('GET', '/users/carol')).entities[0].activated, false, 'banned on the server');

    await page.getByRole('button', { name: T('users.unban'), exact: true }).click();
    await dialog().getByRole('button', { name: T('users.unban'), exact: true }).click();
    await page.locator('.facts .badge', { hasText: T('users.active') }).waitFor();
    assert.equal((await rest.call('GET', '/users/carol')).entities[0].activated, true, 'unbanned on the server');

    // Nickname and attributes, password.
    await page.getByRole('button', { name: T('users.edit') }).click();
    await dialog().getByLabel(T('users.nickname'), { exact: true }).fill('Caroline');
    await dialog().getByRole('button', { name: T('attrs.add') }).click();
    await dialog().locator('.kv-key').last().fill('city');
    await dialog().locator('.kv-value').last().fill('Paris');
    await dialog().getByRole('button', { name: T('common.save') }).click();
    await toast(T('users.saved')).waitFor();
    await page.locator('table.data tr', { hasText: 'Paris' }).locator('code', { hasText: 'city' }).waitFor();
    assert.equal((await rest.call('GET', '/users/carol')).entities[0].nickname, 'Caroline');
    await page.getByRole('button', { name: T('users.reset_password') }).click();
    await dialog().getByLabel(T('users.new_password'), { exact: true }).fill('carol-new-pw');
    await dialog().getByRole('button', { name: T('users.reset_submit') }).click();
    await toast(T('users.password_reset')).waitFor();
    assert.ok(await rest.userToken('carol', 'carol-new-pw'), 'carol signs in with the new password');

    // A refused change is explained in the dialog, which stays open.
    await go('users');
    await page.locator('.page-actions').getByRole('button', { name: T('users.create') }).click();
    await dialog().getByLabel(T('users.username'), { exact: true }).fill('carol');
    await dialog().getByLabel(T('users.password'), { exact: true }).fill('x');
    expecting = /status of 400.*\/console\/api\/apps\/acme\/chat\/users$/;
    await dialog().getByRole('button', { name: T('users.create_submit') }).click();
    await dialog().locator('[role=alert]', { hasText: T('error.duplicate_user') }).waitFor();
    expecting = null;
    await checkTranslated('the create-user dialog with an error');
    await dialog().getByRole('button', { name: T('common.cancel') }).click();

    await page.fill('#users-q', 'ca');
    await page.getByRole('button', { name: T('common.search') }).click();
    await until(async () => (await page.locator('table.data tbody tr').allTextContents()).join('|').includes('carol'), 'carol in the search results');
    const rows = await page.locator('table.data tbody tr').allTextContents();
    assert.equal(rows.length, 1, `only carol starts with "ca": ${rows}`);
  });

  it('erases a user after a confirmation', async () => {
    await rest.call('POST', '/users', { username: 'dave', password: 'dave-pw' });
    await rest.call('POST', '/messages/users', { from: 'dave', to: ['bob'], type: 'txt', body: { msg: 'from dave' } });
    await go('users/dave');
    await page.getByRole('button', { name: T('users.erase'), exact: true }).click();
    await dialog().getByText(T('users.erase_confirm', { user: 'dave' })).waitFor();
    await checkTranslated('the erase dialog');
    await dialog().getByRole('button', { name: T('users.erase'), exact: true }).click();
    await toast(T('users.erased_done', { user: 'dave' })).waitFor();
    await page.waitForURL(/#\/users$/);
    assert.equal((await rest.call('GET', '/users/dave', undefined, { raw: true })).status, 404, 'erased on the server');
  });

  it('looks up a conversation, shows the image, recalls a message', async () => {
    await go('messages?user=alice&peer=bob');
    const row = page.locator('table.data tbody tr', { hasText: 'hello bob' });
    await row.waitFor();
    assert.equal(await page.locator('table.data tbody tr').count(), 3);
    const img = page.locator('table.data img.thumb');
    await img.waitFor();
    await until(() => img.evaluate((el) => el.complete && el.naturalWidth > 0), 'the thumbnail to load');
    await row.locator('button[data-write]').click();
    await dialog().getByRole('button', { name: T('messages.recall') }).click();
    await toast(T('messages.recalled_done')).waitFor();
    await until(async () => (await page.locator('table.data tbody tr', { hasText: 'hello bob' }).count()) === 0, 'the recalled body to go');
    await page.locator('table.data .badge', { hasText: T('messages.recalled') }).waitFor();
    // The filters: only bob's message.
    await page.getByLabel(T('messages.from'), { exact: true }).fill('bob');
    await page.getByRole('button', { name: T('messages.lookup') }).click();
    await until(async () => (await page.locator('table.data tbody tr').count()) === 1, 'one message from bob');
    assert.match(await page.locator('table.data tbody tr').textContent(), /hi alice/);
  });

  it('counts a client that connects on the dashboard', async () => {
    await go('dashboard');
    const online = page.locator('#fig-online_users .figure-value');
    await until(async () => (await online.textContent()) === '0', 'online users 0');
    device = await connect(server.base, await rest.userToken('alice', 'alice-pw'), 'web_e2e');
    await until(async () => Number(await online.textContent()) >= 1, 'online users to rise to 1 (stats stream)', 15000);
    await page.locator('.live-status.live-on').waitFor();
    await go('users/alice');
    await page.locator('table.data code', { hasText: 'web_e2e' }).waitFor();
  });

  it('sends a broadcast to every user, which the connected client receives', async () => {
    await go('broadcasts');
    await page.getByLabel(T('broadcasts.target_users'), { exact: true }).check();
    await page.getByLabel(T('broadcasts.text'), { exact: true }).fill('Maintenance tonight at 22:00');
    await page.getByRole('button', { name: T('broadcasts.send') }).click();
    await dialog().getByRole('button', { name: T('broadcasts.send') }).click();
    await toast(T('broadcasts.sent_done')).waitFor();
    const f = await device.next((x) => x.t === 'event' && x.event?.kind === 'broadcast');
    assert.equal(f.event.item.body.msg, 'Maintenance tonight at 22:00');
    const id = await page.locator('table.data tbody tr code').first().textContent();
    assert.ok(id && id === f.event.id, `the broadcast ID shown (${id}) is the one received (${f.event.id})`);
    // A custom message to every chat room.
    await page.getByLabel(T('broadcasts.target_rooms'), { exact: true }).check();
    await page.getByLabel(T('messages.type'), { exact: true }).selectOption('custom');
    await page.getByLabel(T('broadcasts.custom_event'), { exact: true }).fill('promo/spring.sale');
    await page.getByLabel(T('broadcasts.custom_exts'), { exact: true }).fill('{"discount": "20%"}');
    await page.getByRole('button', { name: T('broadcasts.send') }).click();
    await dialog().getByRole('button', { name: T('broadcasts.send') }).click();
    await until(async () => (await page.locator('table.data tbody tr code').count()) === 2, 'a second broadcast ID');
  });

  it('manages a group: roles, mutes, announcement', async () => {
    await go('groups');
    await page.fill('#groups-q', 'Team');
    await page.getByRole('button', { name: T('common.search') }).click();
    await page.locator('table.data a', { hasText: ids.group }).click();
    await page.waitForURL(new RegExp(`#/groups/${ids.group}$`));
    await page.waitForSelector('#main[data-ready]');
    await page.getByRole('button', { name: T('groups.make_admin_named', { user: 'bob' }) }).click();
    await page.getByRole('button', { name: T('groups.make_member_named', { user: 'bob' }) }).waitFor();
    await page.getByRole('button', { name: T('groups.mute_named', { user: 'bob' }) }).click();
    await dialog().getByLabel(T('groups.mute_duration'), { exact: true }).selectOption({ label: T('duration.1h') });
    await dialog().getByRole('button', { name: T('groups.mute') }).click();
    await page.getByRole('button', { name: T('groups.unmute_named', { user: 'bob' }) }).click();
    await dialog().getByRole('button', { name: T('groups.unmute') }).click();
    await page.getByRole('button', { name: T('groups.mute_named', { user: 'bob' }) }).click();
    await dialog().getByLabel(T('groups.mute_duration'), { exact: true }).selectOption({ label: T('duration.1h') });
    await dialog().getByRole('button', { name: T('groups.mute') }).click();
    await page.getByRole('button', { name: T('groups.unmute_named', { user: 'bob' }) }).waitFor();
    await page.getByLabel(T('groups.announcement_text'), { exact: true }).fill('Welcome to the team');
    await page.getByRole('button', { name: T('groups.announcement_save') }).click();
    await toast(T('groups.announcement_saved')).waitFor();
    const g = (await rest.call('GET', `/chatgroups/${ids.group}`)).data[0];
    assert.equal(g.announcement, 'Welcome to the team');
    const mutes = (await rest.call('GET', `/chatgroups/${ids.group}/mute`)).data;
    assert.ok(mutes.some((m) => m.user === 'bob'), `bob is muted: ${JSON.stringify(mutes)}`);
    // The group's messages, one click away.
    await page.getByRole('link', { name: T('groups.view_messages') }).click();
    await page.locator('table.data tbody tr', { hasText: 'hello team' }).waitFor();
  });

  it('signs a device out', async () => {
    await go('users/alice');
    await page.getByRole('button', { name: T('users.logout_device_named', { res: 'web_e2e' }) }).click();
    await dialog().getByRole('button', { name: T('users.force_logout') }).click();
    await toast(T('users.logged_out')).waitFor();
    const kicked = await device.next((f) => f.t === 'kicked');
    assert.equal(kicked.code, 4004);
    await until(async () => (await page.locator('table.data code', { hasText: 'web_e2e' }).count()) === 0, 'the device to leave the list');
  });

  it('deletes a chat room', async () => {
    await go(`rooms/${ids.oldRoom}`);
    await page.getByRole('button', { name: T('rooms.dissolve') }).click();
    await dialog().getByRole('button', { name: T('rooms.dissolve') }).click();
    await page.waitForURL(/#\/rooms$/);
    await page.waitForSelector('#main[data-ready]');
    await page.locator('table.data a', { hasText: ids.room }).waitFor();
    assert.equal(await page.locator('table.data a', { hasText: ids.oldRoom }).count(), 0);
  });

  it('creates a viewer account; the audit log shows what was done', async () => {
    await go('admins');
    await page.locator('.page-actions').getByRole('button', { name: T('admins.create') }).click();
    await dialog().getByLabel(T('admins.username'), { exact: true }).fill(VIEWER.username);
    await dialog().getByLabel(T('admins.password'), { exact: true }).fill(VIEWER.password);
    await dialog().getByLabel(T('admins.role'), { exact: true }).selectOption('viewer');
    await dialog().getByRole('button', { name: T('admins.create_submit') }).click();
    await toast(T('admins.created', { user: VIEWER.username })).waitFor();
    await page.locator('table.data code', { hasText: VIEWER.username }).waitFor();

    // A second app, and an admin of the first app only.
    await go('apps');
    await page.locator('.page-actions').getByRole('button', { name: T('apps.create') }).click();
    await dialog().getByLabel(T('apps.org'), { exact: true }).fill('acme');
    await dialog().getByLabel(T('apps.app'), { exact: true }).fill('other');
    await dialog().getByRole('button', { name: T('apps.create_submit') }).click();
    await dialog().getByRole('button', { name: T('common.done') }).click();
    await page.waitForURL(/#\/apps\/acme\/other$/);
    await go('admins');
    await page.locator('.page-actions').getByRole('button', { name: T('admins.create') }).click();
    await dialog().getByLabel(T('admins.username'), { exact: true }).fill(APP_ADMIN.username);
    await dialog().getByLabel(T('admins.password'), { exact: true }).fill(APP_ADMIN.password);
    await dialog().getByLabel(T('admins.role'), { exact: true }).selectOption('app_admin');
    await dialog().getByLabel('acme/chat', { exact: true }).check();
    await dialog().getByRole('button', { name: T('admins.create_submit') }).click();
    await page.locator('table.data tr', { hasText: APP_ADMIN.username }).locator('td', { hasText: 'acme/chat' }).waitFor();

    await go('audit');
    const actions = await page.locator('table.data tbody tr td:nth-child(4)').allTextContents();
    for (const a of ['app.create', 'user.create', 'user.ban', 'user.unban', 'message.recall', 'broadcast.send', 'admin.create']) {
      assert.ok(actions.includes(a), `audit has ${a}: ${actions}`);
    }
    await page.getByLabel(T('audit.action'), { exact: true }).fill('user.ban');
    await page.getByRole('button', { name: T('audit.filter') }).click();
    await until(async () => {
      const a = await page.locator('table.data tbody tr td:nth-child(4)').allTextContents();
      return a.length === 1 && a[0] === 'user.ban';
    }, 'only user.ban in the filtered audit log');
  });

  it('shows every page in both languages with every string translated, and remembers the choice', async () => {
    const tour = [
      ['dashboard', 'dashboard'], ['apps', 'apps'], ['apps/acme/chat', 'app'], ['users', 'users'],
      ['users/alice', 'user'], ['groups', 'groups'], [`groups/${ids.group}`, 'group'], ['rooms', 'rooms'],
      [`rooms/${ids.room}`, 'room'], ['messages?user=alice&peer=bob', 'messages'], ['broadcasts', 'broadcasts'],
      ['admins', 'admins'], ['audit', 'audit'], ['account', 'account'],
    ];
    for (const l of LANGS) {
      if (l !== lang) {
        await page.selectOption('#lang-picker', l);
        lang = l;
        await page.locator('#nav a[data-page=dashboard]', { hasText: T('nav.dashboard') }).waitFor();
        assert.equal(await page.getAttribute('html', 'lang'), l);
      }
      for (const [route, name] of tour) {
        await go(route);
        if (route === 'dashboard') {
          // A few samples of the stream, with some traffic, for the charts.
          await page.locator('.live-status.live-on').waitFor();
          for (let i = 0; i < 5; i++) {
            await rest.call('POST', '/messages/users', { from: 'bob', to: ['alice'], type: i % 2 ? 'txt' : 'custom', body: i % 2 ? { msg: `tick ${i}` } : { customEvent: 'tick' } });
            await new Promise((r) => setTimeout(r, 1000));
          }
        }
        await checkTranslated(`page ${route}`);
        await shot(name);
      }
      // A dialog too.
      await go('users');
      await page.locator('.page-actions').getByRole('button', { name: T('users.create') }).click();
      await checkTranslated('the create-user dialog');
      await shot('dialog-create-user');
      await dialog().getByRole('button', { name: T('common.cancel') }).click();
    }
    // Remembered: a reload comes back in 简体中文.
    await page.reload();
    await page.waitForSelector('#main[data-ready]');
    assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
    assert.equal(await page.locator('#nav a[data-page=users]').textContent(), TR['zh-CN']('nav.users'));
    // Narrow screens: the navigation folds into a menu.
    await page.setViewportSize({ width: 390, height: 844 });
    await go('users/alice');
    assert.equal(await page.locator('#nav').isVisible(), false);
    await page.click('#nav-toggle');
    assert.equal(await page.locator('#nav').isVisible(), true);
    await shot('mobile-menu');
    await page.click('#nav a[data-page=users]');
    await page.waitForSelector('#main[data-ready]');
    await shot('mobile-users');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('shows a viewer every page with nothing that can be changed', async () => {
    await page.click('#signout');
    await page.waitForSelector('#signin-username');
    await checkTranslated('sign-in page after signing out');
    await shot('signin');
    // Back to English on the sign-in page, then in as the viewer.
    await page.selectOption('#signin-lang', 'en');
    lang = 'en';
    await page.locator('#signin-title', { hasText: T('signin.title') }).waitFor();
    const changes = [];
    page.on('request', (r) => {
      if (r.method() !== 'GET' && r.method() !== 'HEAD') changes.push(`${r.method()} ${new URL(r.url()).pathname}`);
    });
    await signIn(VIEWER.username, VIEWER.password);
    await page.waitForSelector('#shell:not([hidden]) #main[data-ready]');
    assert.equal(await page.locator('#nav a[data-page=admins]').isVisible(), false, 'no admins page for a viewer');

    const tour = [
      ['dashboard', 0], ['apps', 1], ['apps/acme/chat', 5], ['users', 1], ['users/carol', 4], ['users/alice', 4],
      ['groups', 0], [`groups/${ids.group}`, 5], ['rooms', 0], [`rooms/${ids.room}`, 4],
      ['messages?user=alice&peer=bob', 1], ['broadcasts', 3], ['account', 0],
    ];
    for (const [route, atLeast] of tour) {
      await go(route);
      const controls = await page.locator('[data-write]').evaluateAll((els) => els.map((e) => ({ what: e.outerHTML.slice(0, 120), disabled: e.disabled })));
      const enabled = controls.filter((c) => !c.disabled);
      assert.deepEqual(enabled, [], `${route}: change controls a viewer can use`);
      assert.ok(controls.length >= atLeast, `${route}: ${controls.length} change controls, want at least ${atLeast}`);
      await checkTranslated(`viewer page ${route}`);
      await shot(`viewer-${route.replace(/[/?&=]+/g, '-')}`);
    }
    // A forced click on a disabled control opens nothing.
    await go('users/carol');
    await page.getByRole('button', { name: T('users.ban'), exact: true }).click({ force: true });
    assert.equal(await dialog().count(), 0);
    await go('admins');
    await page.locator('.empty', { hasText: T('common.owner_only') }).waitFor();
    assert.deepEqual(changes, ['POST /console/api/session'], 'the only change a viewer\'s console asked for is signing in');

    // The server refuses too, whatever the page would do.
    expecting = /status of 403/;
    const status = await page.evaluate(async () => {
      const { csrf } = await (await fetch('/console/api/session')).json();
      const res = await fetch('/console/api/apps/acme/chat/users/carol/ban', { method: 'POST', headers: { 'X-CSRF-Token': csrf } });
      return res.status;
    });
    expecting = null;
    assert.equal(status, 403);

    // Any account changes its own password and signs out everywhere.
    await go('account');
    await page.getByLabel(T('account.old_password'), { exact: true }).fill(VIEWER.password);
    await page.getByLabel(T('account.new_password'), { exact: true }).fill('watcher-new-password');
    await page.getByLabel(T('account.repeat_password'), { exact: true }).fill('watcher-new-password');
    await page.getByRole('button', { name: T('account.change_password') }).click();
    await toast(T('account.password_changed')).waitFor();
    await page.getByRole('button', { name: T('account.signout_everywhere') }).click();
    await dialog().getByRole('button', { name: T('account.signout_everywhere') }).click();
    await page.locator('.alert', { hasText: T('signin.signed_out_everywhere') }).waitFor();
    await signIn(VIEWER.username, 'watcher-new-password');
    await page.waitForSelector('#shell:not([hidden]) #main[data-ready]');
  });

  it('lets an app admin change its own app only', async () => {
    await page.click('#signout');
    await signIn(APP_ADMIN.username, APP_ADMIN.password);
    await page.waitForSelector('#shell:not([hidden]) #main[data-ready]');
    assert.deepEqual(await page.locator('#app-picker option').allTextContents(), ['acme/chat'], 'an app admin sees its apps only');
    assert.equal(await page.locator('#nav a[data-page=admins]').isVisible(), false);
    await go('apps');
    assert.equal(await page.getByRole('button', { name: T('apps.create') }).isDisabled(), true, 'only the owner creates apps');
    for (const route of ['apps/acme/chat', 'users', 'users/carol', `groups/${ids.group}`, 'broadcasts']) {
      await go(route);
      const disabled = await page.locator('[data-write]').evaluateAll((els) => els.filter((e) => e.disabled).map((e) => e.outerHTML.slice(0, 100)));
      assert.deepEqual(disabled, [], `${route}: an app admin may change everything in its app`);
    }
    await go('apps/acme/other');
    await page.locator('.empty', { hasText: T('apps.not_found') }).waitFor();
    await checkTranslated('an app the account does not see');

    // The session ends elsewhere (another tab signs out): the next request
    // brings the sign-in page back, saying why.
    const other = await page.context().newPage();
    await other.goto(`${server.base}/console/#/dashboard`);
    await other.waitForSelector('#main[data-ready]');
    await other.click('#signout');
    await other.waitForSelector('#signin-username');
    await other.close();
    expecting = /status of 401/;
    await page.evaluate(() => { location.hash = '#/users'; });
    await page.locator('.alert', { hasText: T('signin.expired') }).waitFor();
    expecting = null;
  });

  it('reported no console errors, exceptions or CSP violations', () => {
    assert.deepEqual(problems, []);
  });
});
