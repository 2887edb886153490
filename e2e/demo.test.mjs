// The demo web chat (/demo/) in a real browser against the real server
// (issue 11, acceptance 2): two Chromium pages, each its own browser context,
// sign up as alice and bob in an app with open registration, and chat through
// the TypeScript SDK: text both ways, an image, a read mark, presence, a
// recall that the other side sees, and a group. Screenshots of each step go
// to $PARLEY_E2E_ARTIFACTS/demo (or a new temporary directory).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launch } from './browser.mjs';
import { startParley, png } from './parley.mjs';
import { dictionary } from '../internal/demo/web/i18n.js';
import { untranslated } from './untranslated.mjs';

const OWNER_PASSWORD = 'owner-demo-e2e-password-1';
const ORG = 'acme';
const APP = 'talk';

const artifacts = process.env.PARLEY_E2E_ARTIFACTS
  ? path.join(process.env.PARLEY_E2E_ARTIFACTS, 'demo')
  : fs.mkdtempSync(path.join(os.tmpdir(), 'parley-demo-e2e-'));
fs.mkdirSync(artifacts, { recursive: true });

let server;
let browser;
const pages = {}; // alice, bob
// Problems the pages report: console errors, uncaught exceptions, CSP
// violations (Chromium reports those as console errors).
const problems = [];

async function shot(who, name) {
  await pages[who].screenshot({ path: path.join(artifacts, `${name}-${who}.png`) });
}

async function newPage(who) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 720 }, locale: 'en-US' });
  const page = await context.newPage();
  page.setDefaultTimeout(10000);
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`${who} console: ${m.text()} ${m.location()?.url || ''}`); });
  page.on('pageerror', (e) => problems.push(`${who} exception: ${e.message}`));
  pages[who] = page;
  return page;
}

async function checkTranslated(who, lang) {
  const bad = await pages[who].evaluate(untranslated, { dict: dictionary(lang), skip: '[hidden]', title: dictionary(lang).title });
  assert.deepEqual(bad, [], `${who} (${lang}): text that is not from the dictionary`);
}

// msg finds a message bubble in the open conversation by its text.
const msg = (who, text) => pages[who].locator('#msgs .msg').filter({ has: pages[who].locator('.bubble', { hasText: text }) });
const conv = (who, name) => pages[who].locator('#convs .conv-item').filter({ has: pages[who].locator(`.conv-name:text-is("${name}")`) });

before(async () => {
  server = await startParley({ artifacts, ownerPassword: OWNER_PASSWORD });
  // The app, with open registration (what `parley app create --open-registration` makes).
  const tok = await fetch(`${server.base}/management/token`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ grant_type: 'password', username: 'owner', password: OWNER_PASSWORD }),
  }).then((r) => r.json());
  const res = await fetch(`${server.base}/management/orgs/${ORG}/applications`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${tok.access_token}` },
    body: JSON.stringify({ name: APP, open_registration: true }),
  });
  assert.equal(res.status, 200, `create app: ${await res.text()}`);
  browser = await launch();
  await newPage('alice');
  await newPage('bob');
});

after(async () => {
  await browser?.close();
  await server?.stop();
  console.log(`# demo screenshots and the server log: ${artifacts}`);
});

describe('demo web chat', () => {
  it('signs up two users from the URL\'s org and app', async () => {
    for (const who of ['alice', 'bob']) {
      const p = pages[who];
      await p.goto(`${server.base}/demo/?org=${ORG}&app=${APP}`);
      await p.waitForSelector('#signin-form input[name=username]');
      assert.equal(await p.inputValue('input[name=org]'), ORG);
      assert.equal(await p.inputValue('input[name=app]'), APP);
      await p.fill('input[name=username]', who);
      await p.fill('input[name=password]', `pw-${who}-123`);
      if (who === 'alice') await shot(who, '01-signup');
      await p.click('#signup');
      await p.waitForSelector('#chat:not([hidden])');
      assert.equal(await p.textContent('#me-name'), who);
    }
    await shot('bob', '02-signed-in');
  });

  it('sends text 1:1; the other side sees an unread badge, presence and the message', async () => {
    const a = pages.alice;
    await a.click('#new-chat');
    await a.fill('#new-chat-form input[name=peer]', 'bob');
    await a.click('#new-chat-form button[type=submit]');
    await a.fill('#text', 'Hello Bob, this is Alice.');
    await a.press('#text', 'Enter');
    await msg('alice', 'Hello Bob, this is Alice.').waitFor();
    await a.fill('#text', 'Do you see this?');
    await a.click('#composer button[type=submit]');
    await msg('alice', 'Do you see this?').waitFor();

    const b = pages.bob;
    const item = conv('bob', 'alice');
    await item.locator('.badge', { hasText: '2' }).waitFor();
    await item.locator('.avatar .dot.online').waitFor(); // alice is online
    await shot('bob', '03-unread');
    await item.click();
    await msg('bob', 'Hello Bob, this is Alice.').waitFor();
    await msg('bob', 'Do you see this?').waitFor();
    await b.waitForSelector('#peer-dot.online');
    await item.locator('.badge').waitFor({ state: 'detached' });
    // Bob read them: alice's messages show the read mark.
    await msg('alice', 'Do you see this?').and(a.locator('[data-mark=read]')).waitFor();
    await b.fill('#text', 'Yes! Hi Alice.');
    await b.press('#text', 'Enter');
    await msg('alice', 'Yes! Hi Alice.').waitFor();
    await shot('alice', '04-text');
  });

  it('sends an image that the other side displays, and a file', async () => {
    await pages.alice.setInputFiles('#pick-image', { name: 'gradient.png', mimeType: 'image/png', buffer: png(160, 100) });
    for (const who of ['alice', 'bob']) {
      const img = pages[who].locator('#msgs .msg img.image');
      await img.waitFor();
      const w = await pages[who].waitForFunction(() => {
        const i = document.querySelector('#msgs .msg img.image');
        return i && i.complete && i.naturalWidth > 0 && i.naturalWidth;
      });
      assert.equal(await w.jsonValue(), 160, `${who}: the image's width`);
    }
    await pages.alice.setInputFiles('#pick-file', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('release notes\n') });
    await pages.bob.locator('#msgs .msg button.file', { hasText: 'notes.txt' }).waitFor();
    await shot('bob', '05-image');
  });

  it('recalls a message; the other side sees it recalled', async () => {
    const a = pages.alice;
    const m = msg('alice', 'Do you see this?');
    await m.hover();
    await m.locator('button.recall').click();
    await a.locator('#msgs .msg.recalled').waitFor();
    const b = pages.bob;
    await b.locator('#msgs .msg.recalled', { hasText: 'Message recalled' }).waitFor();
    assert.equal(await msg('bob', 'Do you see this?').count(), 0, 'the recalled text is gone on bob\'s page');
    assert.equal(await msg('bob', 'Hello Bob, this is Alice.').count(), 1, 'the other message stays');
    await shot('alice', '06-recalled');
    await shot('bob', '06-recalled');
  });

  it('creates a group and chats in it', async () => {
    const a = pages.alice;
    await a.click('#new-group');
    await a.fill('#new-group-form input[name=name]', 'Launch team');
    await a.fill('#new-group-form input[name=members]', 'bob');
    await a.click('#new-group-form button[type=submit]');
    await a.waitForSelector('#peer-name:text("Launch team")');
    await a.fill('#text', 'Welcome to the team!');
    await a.press('#text', 'Enter');
    await msg('alice', 'Welcome to the team!').waitFor();
    const g = conv('bob', 'Launch team');
    await g.waitFor();
    await g.click();
    await msg('bob', 'Welcome to the team!').waitFor();
    await shot('bob', '07-group');
    await checkTranslated('bob', 'en');
  });

  it('switches to 简体中文 and fits a phone screen', async () => {
    const b = pages.bob;
    await b.click('#chat [data-lang-toggle]');
    await b.waitForSelector('#composer button[type=submit]:text("发送")');
    assert.equal(await b.textContent('#conn'), '已连接');
    assert.equal(await b.getAttribute('html', 'lang'), 'zh-CN');
    await checkTranslated('bob', 'zh');
    await b.setViewportSize({ width: 390, height: 760 });
    await shot('bob', '08-zh-phone-conversation');
    await b.click('#back');
    await b.locator('#convs').waitFor();
    assert.equal(await b.locator('#conv').isVisible(), false);
    await shot('bob', '08-zh-phone-list');
    await checkTranslated('bob', 'zh');
    // More than a history page, for the next step.
    await conv('bob', 'alice').click();
    for (let i = 1; i <= 30; i++) {
      await b.fill('#text', `Line ${i}`);
      await b.press('#text', 'Enter');
    }
    await msg('bob', 'Line 30').waitFor();
  });

  it('signs in again in a new window and finds the history', async () => {
    const p = await newPage('alice2');
    await p.goto(`${server.base}/demo/?org=${ORG}&app=${APP}`);
    await p.fill('input[name=username]', 'alice');
    await p.fill('input[name=password]', 'pw-alice-123');
    await p.click('#signin-form button[type=submit]');
    await p.waitForSelector('#chat:not([hidden])');
    await conv('alice2', 'Launch team').waitFor();
    await conv('alice2', 'bob').click();
    await msg('alice2', 'Line 30').waitFor();
    assert.equal(await msg('alice2', 'Hello Bob, this is Alice.').count(), 0, 'only the latest page at first');
    await p.click('#earlier button');
    await msg('alice2', 'Hello Bob, this is Alice.').waitFor();
    const texts = await p.locator('#msgs .msg .bubble').allTextContents();
    const lines = texts.filter((x) => x.startsWith('Line ')).map((x) => Number(x.slice(5)));
    assert.deepEqual(lines, Array.from({ length: 30 }, (_, i) => i + 1), 'the lines in order, once each');
    await msg('alice2', 'Line 30').scrollIntoViewIfNeeded();
    await msg('alice2', 'Yes! Hi Alice.').waitFor();
    await p.locator('#msgs .msg.recalled').waitFor();
    await p.locator('#msgs .msg img.image').scrollIntoViewIfNeeded();
    await p.locator('#msgs .msg button.file', { hasText: 'notes.txt' }).waitFor();
    await msg('alice2', 'Hello Bob, this is Alice.').scrollIntoViewIfNeeded();
    await shot('alice2', '09-signed-in-history');
    await checkTranslated('alice2', 'en');
  });

  it('reported no page errors or CSP violations', () => {
    assert.deepEqual(problems, []);
  });
});
