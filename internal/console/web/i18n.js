// The console's two languages. Every string the console shows lives in
// i18n/<lang>.json (flat keys, the same keys in every language); t() looks a
// key up and fills {name} placeholders. The choice is remembered in
// localStorage and defaults to the browser's language.

export const LANGS = ['en', 'zh-CN'];
const STORE_KEY = 'parley.console.lang';

let current = 'en';
let dict = {};
const listeners = new Set();

// detect returns the remembered language, else the browser's, else English.
export function detect() {
  let saved = null;
  try { saved = localStorage.getItem(STORE_KEY); } catch { /* storage disabled */ }
  if (LANGS.includes(saved)) return saved;
  for (const l of navigator.languages || [navigator.language || '']) {
    if (/^zh\b/i.test(l)) return 'zh-CN';
    if (/^en\b/i.test(l)) return 'en';
  }
  return 'en';
}

async function load(l) {
  const res = await fetch(`/console/i18n/${l}.json`, { credentials: 'same-origin' });
  if (!res.ok) throw new Error(`i18n ${l}: HTTP ${res.status}`);
  dict = await res.json();
  current = l;
  document.documentElement.lang = l;
}

// setLang loads a language, translates the static markup and tells the
// listeners (which re-render). remember stores the choice.
export async function setLang(l, { remember = true } = {}) {
  if (!LANGS.includes(l)) l = 'en';
  await load(l);
  if (remember) {
    try { localStorage.setItem(STORE_KEY, l); } catch { /* storage disabled */ }
  }
  translate(document);
  for (const fn of listeners) fn(l);
}

export function lang() { return current; }

export function onLangChange(fn) { listeners.add(fn); }

export function has(key) { return Object.hasOwn(dict, key); }

// t returns the string for key with {name} placeholders filled from params.
export function t(key, params) {
  let s = dict[key];
  if (s === undefined) {
    console.error(`i18n: missing key ${key} (${current})`);
    return key;
  }
  if (params) s = s.replace(/\{(\w+)\}/g, (m, k) => (Object.hasOwn(params, k) ? String(params[k]) : m));
  return s;
}

// translate fills the elements under root marked with data-i18n (text) and
// data-i18n-<attribute> (placeholder, title, aria-label).
export function translate(root) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const attr of ['placeholder', 'title', 'aria-label']) {
    const data = `data-i18n-${attr}`;
    for (const el of root.querySelectorAll(`[${data}]`)) el.setAttribute(attr, t(el.getAttribute(data)));
  }
}

// fmtTime formats a millisecond timestamp in the current language.
export function fmtTime(ms) {
  if (!ms) return '';
  return new Intl.DateTimeFormat(current, { dateStyle: 'medium', timeStyle: 'medium' }).format(new Date(ms));
}

export function fmtClock(ms) {
  return new Intl.DateTimeFormat(current, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }).format(new Date(ms));
}

export function fmtNumber(n) {
  return new Intl.NumberFormat(current).format(n ?? 0);
}

export function fmtBytes(n) {
  if (n == null || n === '') return '';
  const units = ['B', 'KB', 'MB', 'GB'];
  let v = Number(n);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${new Intl.NumberFormat(current, { maximumFractionDigits: 1 }).format(v)} ${units[i]}`;
}
