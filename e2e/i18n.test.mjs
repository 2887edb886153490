// Static checks of the console's files (no browser, no server): both
// dictionaries have the same keys and placeholders; every key the code uses
// exists and every key is used; index.html holds no text of its own; nothing
// needs 'unsafe-inline' or 'unsafe-eval' in a Content-Security-Policy.
// The browser test (console.test.mjs) checks the rendered pages.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { WEB, LANGS, dictionary } from './dict.mjs';

function sources() {
  const out = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.js')) out.push([path.relative(WEB, p), fs.readFileSync(p, 'utf8')]);
    }
  };
  walk(WEB);
  return out;
}

const placeholders = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test('both dictionaries have the same keys, placeholders and no empty strings', () => {
  const [en, zh] = LANGS.map(dictionary);
  assert.deepEqual(Object.keys(zh).sort(), Object.keys(en).sort(), 'keys differ');
  for (const k of Object.keys(en)) {
    assert.deepEqual(placeholders(zh[k]), placeholders(en[k]), `placeholders of ${k}`);
    for (const [lang, d] of [['en', en], ['zh-CN', zh]]) {
      assert.ok(typeof d[k] === 'string' && d[k].trim() !== '', `${lang}: ${k} is empty`);
    }
  }
});

test('every key the code names exists, and every key is used', () => {
  const en = dictionary('en');
  const keys = Object.keys(en);
  const namespaces = new Set(keys.map((k) => k.split('.')[0]));
  const literal = new Set();
  const dynamic = []; // regular expressions made from template literals
  const html = fs.readFileSync(path.join(WEB, 'index.html'), 'utf8');
  for (const m of html.matchAll(/data-i18n(?:-[a-z-]+)?="([^"]+)"/g)) literal.add(m[1]);
  for (const [file, src] of sources()) {
    for (const m of src.matchAll(/'([a-z_]+(?:\.[A-Za-z0-9_-]+)+)'/g)) {
      if (namespaces.has(m[1].split('.')[0])) literal.add(m[1]);
    }
    // Template literals: the argument of t() or has(), or any that starts
    // with a namespace ("error.${code}").
    for (const m of src.matchAll(/(\b(?:t|has)\(\s*)?`([^`]*\$\{[^`]*)`/g)) {
      const tpl = m[2];
      if (!m[1] && !namespaces.has(tpl.split('.')[0])) continue;
      const re = new RegExp(`^${tpl.split(/\$\{[^}]*\}/).map((p) => p.replace(/[.*+?^$()|[\]\\]/g, '\\$&')).join('[^.]+')}$`);
      assert.ok(keys.some((k) => re.test(k)), `${file}: no key matches \`${tpl}\``);
      dynamic.push(re);
    }
  }
  for (const k of literal) assert.ok(Object.hasOwn(en, k), `missing key ${k}`);
  const unused = keys.filter((k) => !literal.has(k) && !dynamic.some((re) => re.test(k)));
  assert.deepEqual(unused, [], 'keys no code uses');
});

test('index.html has no text of its own and nothing inline', () => {
  const html = fs.readFileSync(path.join(WEB, 'index.html'), 'utf8');
  const body = html.slice(html.indexOf('<body'));
  const text = body.replace(/<[^>]*>/g, '').trim();
  assert.equal(text, '', 'text outside the dictionaries');
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'inline script');
  assert.doesNotMatch(html, /\son[a-z]+\s*=/i, 'inline event handler');
  assert.doesNotMatch(html, /\sstyle\s*=/i, 'inline style');
  assert.doesNotMatch(html, /<style/i, 'style element');
});

test('input patterns compile as browsers compile them (the v flag)', () => {
  for (const [file, src] of sources()) {
    // The anchored regular expressions in string literals are the patterns.
    for (const m of src.matchAll(/'(\^(?:[^'\\]|\\.)*\$)'/g)) {
      const p = m[1].replace(/\\\\/g, '\\');
      assert.doesNotThrow(() => new RegExp(`^(?:${p})$`, 'v'), `${file}: pattern ${p}`);
    }
  }
});

test('no code needs unsafe-eval or unsafe-inline, nor parses markup', () => {
  const banned = [
    [/\beval\s*\(/, 'eval'],
    [/new\s+Function\s*\(/, 'new Function'],
    [/setTimeout\s*\(\s*['"`]/, 'setTimeout with a string'],
    [/\.innerHTML\s*=|\.outerHTML\s*=|insertAdjacentHTML|document\.write/, 'markup parsing'],
    [/setAttribute\(\s*['"](style|on[a-z]+)['"]/, 'inline style or handler attribute'],
    [/['"]style['"]\s*:/, 'style attribute in h()'],
  ];
  for (const [file, src] of sources()) {
    for (const [re, what] of banned) assert.doesNotMatch(src, re, `${file}: ${what}`);
  }
});
