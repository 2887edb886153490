// Static checks of the demo web chat's files (internal/demo/web; no browser,
// no server): both languages have the same keys and placeholders; every key
// the code names exists and every key is used; index.html holds no text of
// its own; nothing needs 'unsafe-inline' or 'unsafe-eval' or parses markup.
// The browser test (demo.test.mjs) checks the rendered page.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LANGS, dictionary } from '../internal/demo/web/i18n.js';

const WEB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../internal/demo/web');
const read = (f) => fs.readFileSync(path.join(WEB, f), 'utf8');
const placeholders = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test('demo: both languages have the same keys, placeholders and no empty strings', () => {
  assert.deepEqual(LANGS, ['en', 'zh']);
  const [en, zh] = LANGS.map(dictionary);
  assert.deepEqual(Object.keys(zh).sort(), Object.keys(en).sort(), 'keys differ');
  for (const k of Object.keys(en)) {
    assert.deepEqual(placeholders(zh[k]), placeholders(en[k]), `placeholders of ${k}`);
    for (const [lang, d] of [['en', en], ['zh', zh]]) assert.ok(d[k].trim() !== '', `${lang}: ${k} is empty`);
  }
});

test('demo: every key the code names exists, and every key is used', () => {
  const en = dictionary('en');
  const app = read('app.js');
  const html = read('index.html');
  const named = [
    ...[...app.matchAll(/\bt\('(\w+)'/g)].map((m) => m[1]),
    ...[...html.matchAll(/data-i18n(?:-placeholder|-title)?="(\w+)"/g)].map((m) => m[1]),
  ];
  for (const k of named) assert.ok(Object.hasOwn(en, k), `no key ${k}`);
  // Keys named through a variable (t(connState), t(item.type)) appear as
  // string literals; title and lang are used by i18n.js itself.
  const code = app + read('i18n.js').replace(/const DICTS = \{[\s\S]*?\n\};/, '');
  for (const k of Object.keys(en)) {
    assert.ok(named.includes(k) || code.includes(`'${k}'`), `key ${k} is not used`);
  }
});

test('demo: index.html has no text of its own and nothing inline', () => {
  const html = read('index.html');
  const body = html.slice(html.indexOf('<body>'));
  const text = body.replace(/<[^>]*>/g, '').trim();
  assert.equal(text, '', 'text outside the dictionary');
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'an inline script');
  assert.doesNotMatch(html, /\son\w+=/, 'an inline event handler');
  assert.doesNotMatch(html, /\sstyle=/, 'an inline style');
});

test('demo: no code needs unsafe-eval or unsafe-inline, nor parses markup', () => {
  for (const f of ['app.js', 'i18n.js', ...fs.readdirSync(path.join(WEB, 'sdk')).map((x) => `sdk/${x}`)]) {
    const src = read(f);
    for (const bad of [/\beval\(/, /new Function\(/, /\.innerHTML\b/, /\.outerHTML\b/, /insertAdjacentHTML/, /\.style\.cssText/, /setAttribute\('style'/, /setTimeout\('/]) {
      assert.doesNotMatch(src, bad, `${f}: ${bad}`);
    }
  }
});
