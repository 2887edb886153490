// The console's dictionaries (internal/console/web/i18n/<lang>.json), for
// the tests: they find controls by their words and check pages against them.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const WEB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../internal/console/web');
export const LANGS = ['en', 'zh-CN'];

export function dictionary(lang) {
  return JSON.parse(fs.readFileSync(path.join(WEB, 'i18n', `${lang}.json`), 'utf8'));
}

// translator returns t(key, params) over one language, as the console's.
export function translator(lang) {
  const d = dictionary(lang);
  return (key, params = {}) => {
    if (!Object.hasOwn(d, key)) throw new Error(`no key ${key} in ${lang}`);
    return d[key].replace(/\{(\w+)\}/g, (m, k) => (Object.hasOwn(params, k) ? String(params[k]) : m));
  };
}
