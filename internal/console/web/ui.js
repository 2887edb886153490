// Shared pieces of the console's pages: buttons that respect the account's
// role, form fields, dialogs, paged tables, errors and notices.

import { ApiError } from './api.js';
import { h, d, uid } from './dom.js';
import { t, has, fmtTime } from './i18n.js';

// ---- errors and notices ----------------------------------------------------

// errorNodes describes a failure: the translated meaning of its code, and the
// server's own description (English, so marked as data).
export function errorNodes(err) {
  if (err instanceof FieldError) return [t(err.key)];
  if (err instanceof ApiError) {
    const key = `error.${err.code}`;
    const nodes = [has(key) ? t(key) : t('error.generic', { status: err.status })];
    if (err.status === 429 && err.retryAfter) nodes.push(' ', t('error.retry_after', { s: err.retryAfter }));
    if (err.description && err.description !== err.code) nodes.push(' ', d(err.description, 'span', { class: 'detail' }));
    return nodes;
  }
  console.error(err);
  return [t('error.unexpected'), ' ', d(String(err?.message || err), 'span', { class: 'detail' })];
}

export function errorBox(err) {
  return h('p', { class: 'alert alert-error', role: 'alert' }, errorNodes(err));
}

export function toast(nodes, kind = 'ok') {
  const box = document.getElementById('toasts');
  const el = h('div', { class: `toast toast-${kind}` }, nodes);
  box.append(el);
  while (box.children.length > 3) box.firstElementChild.remove();
  setTimeout(() => el.remove(), kind === 'error' ? 9000 : 4000);
}

export function toastError(err) { toast(errorNodes(err), 'error'); }

// ---- buttons -----------------------------------------------------------------

export function button(label, onClick, { kind = '', type = 'button', ...props } = {}) {
  return h('button', { type, class: ['btn', kind && `btn-${kind}`], onclick: onClick, ...props }, label);
}

// writeButton is a change control: disabled, with an explanation, when the
// account may not change this (a viewer, or an app the account does not
// manage). The browser tests find change controls by data-write.
export function writeButton(allowed, label, onClick, opts = {}) {
  const b = button(label, allowed ? onClick : null, { ...opts, 'data-write': '' });
  if (!allowed) {
    b.disabled = true;
    b.title = t('common.readonly_hint');
  }
  return b;
}

// busy disables a button while fn runs.
export async function busy(btn, fn) {
  btn.disabled = true;
  btn.setAttribute('aria-busy', 'true');
  try { return await fn(); } finally { btn.disabled = false; btn.removeAttribute('aria-busy'); }
}

// ---- page structure ------------------------------------------------------------

export function pageHead(title, { back, actions = [], lead } = {}) {
  return h('div', { class: 'page-head' },
    back ? h('a', { class: 'back-link', href: back.href }, '← ', back.label) : null,
    h('div', { class: 'page-head-row' },
      h('h1', { tabindex: '-1' }, title),
      actions.length ? h('div', { class: 'page-actions' }, actions) : null),
    lead ? h('p', { class: 'lead' }, lead) : null);
}

export function section(title, ...children) {
  const id = uid('sec');
  return h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title), children);
}

export function badge(text, kind = 'neutral') {
  return h('span', { class: `badge badge-${kind}` }, text);
}

export function emptyState(text, ...extra) {
  return h('div', { class: 'empty' }, h('p', {}, text), extra);
}

// dl shows label/value pairs; values are nodes or data.
export function dl(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(Boolean).map(([k, v]) => [
    h('dt', {}, k),
    h('dd', {}, v instanceof Node || Array.isArray(v) ? v : d(v)),
  ]));
}

export function time(ms) {
  if (!ms) return d('—');
  return h('time', { datetime: new Date(ms).toISOString(), translate: 'no' }, fmtTime(ms));
}

export function yesNo(v) { return v ? t('common.yes') : t('common.no'); }

// ---- tables ------------------------------------------------------------------

// table builds a data table: columns [{label, cell(row) -> node|string, class}].
export function table({ caption, columns, rows = [], empty }) {
  const tbody = h('tbody');
  const el = h('div', { class: 'table-wrap' },
    h('table', { class: 'data' },
      caption ? h('caption', { class: 'visually-hidden' }, caption) : null,
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.class }, c.label)))),
      tbody));
  const emptyRow = h('tr', { class: 'empty-row' }, h('td', { colspan: columns.length }, empty || t('common.none')));
  const add = (items) => {
    emptyRow.remove();
    for (const row of items) {
      tbody.append(h('tr', {}, columns.map((c) => {
        const v = c.cell(row);
        return h('td', { class: c.class, 'data-label': c.label }, v instanceof Node || Array.isArray(v) ? v : d(v));
      })));
    }
    if (!tbody.children.length) tbody.append(emptyRow);
  };
  const reset = () => { tbody.replaceChildren(); };
  add(rows);
  return { el, add, reset, tbody };
}

// pagedTable loads pages with fetch(cursor) -> {items, cursor} and shows a
// "Load more" button while a cursor remains.
export function pagedTable({ caption, columns, fetch, empty }) {
  const tbl = table({ caption, columns, empty });
  const status = h('div', { class: 'table-status' });
  let cursor = '';
  const more = button(t('common.load_more'), () => load(false), { kind: 'quiet' });
  more.hidden = true;
  const el = h('div', { class: 'paged' }, tbl.el, status, h('div', { class: 'table-more' }, more));
  async function load(reset) {
    status.replaceChildren();
    if (reset) { cursor = ''; tbl.reset(); }
    more.disabled = true;
    el.setAttribute('aria-busy', 'true');
    try {
      const page = await fetch(cursor);
      tbl.add(page.items || []);
      cursor = page.cursor || '';
      more.hidden = !cursor;
    } catch (err) {
      if (reset) tbl.add([]);
      status.append(errorBox(err));
    } finally {
      more.disabled = false;
      el.removeAttribute('aria-busy');
    }
  }
  return { el, load: () => load(true) };
}

// ---- form fields ---------------------------------------------------------------

// field builds a labelled control. spec: {name, label, type (text, password,
// number, textarea, select, checkbox, checkboxes, datetime, json), value,
// options [{value, label}], help, required, placeholder, ...attributes}.
export function field(spec) {
  const id = uid('f');
  const { name, label, type = 'text', value, options = [], help, showIf, ...attrs } = spec;
  const helpId = help ? `${id}-help` : undefined;
  let control;
  const common = { id, name, 'aria-describedby': helpId, ...attrs };
  if (type === 'textarea' || type === 'json') {
    control = h('textarea', { rows: 4, ...common, spellcheck: type === 'json' ? 'false' : undefined, class: type === 'json' ? 'mono' : undefined, value: value ?? '' });
  } else if (type === 'select') {
    control = h('select', { ...common, value: value ?? '' }, options.map((o) => h('option', { value: o.value }, o.label)));
  } else if (type === 'checkbox') {
    control = h('input', { type: 'checkbox', ...common, checked: !!value });
    return h('div', { class: 'field field-check', dataset: { name } },
      control, h('label', { for: id }, label), help ? h('p', { id: helpId, class: 'help' }, help) : null);
  } else if (type === 'checkboxes') {
    const chosen = new Set(value || []);
    return h('fieldset', { class: 'field field-group', dataset: { name, type } },
      h('legend', {}, label),
      options.length ? options.map((o) => {
        const oid = uid('f');
        return h('div', { class: 'field-check' },
          h('input', { type: 'checkbox', id: oid, name, value: o.value, checked: chosen.has(o.value) }),
          h('label', { for: oid }, o.label));
      }) : h('p', { class: 'help' }, t('common.none')),
      help ? h('p', { class: 'help' }, help) : null);
  } else if (type === 'radios') {
    return h('fieldset', { class: 'field field-group field-radios', dataset: { name, type } },
      h('legend', {}, label),
      options.map((o) => {
        const oid = uid('f');
        return h('div', { class: 'field-check' },
          h('input', { type: 'radio', id: oid, name, value: o.value, checked: o.value === value }),
          h('label', { for: oid }, o.label));
      }),
      help ? h('p', { class: 'help' }, help) : null);
  } else if (type === 'datetime') {
    control = h('input', { type: 'datetime-local', step: 1, ...common, value: value ?? '' });
  } else {
    control = h('input', { type, ...common, value: value ?? '' });
  }
  return h('div', { class: 'field', dataset: { name, type } },
    h('label', { for: id, class: attrs.required ? 'required' : undefined }, label),
    control,
    help ? h('p', { id: helpId, class: 'help' }, help) : null);
}

// readForm collects the values of the fields of specs inside form. Numbers are
// numbers (empty: 0), checkboxes booleans, checkbox groups arrays, datetimes
// milliseconds (empty: ''), json parsed (empty: undefined; bad JSON throws a
// FieldError).
export class FieldError extends Error {
  constructor(name, key) { super(key); this.field = name; this.key = key; }
}

export function readForm(form, specs) {
  const out = {};
  for (const s of specs) {
    const wrap = form.querySelector(`[data-name="${s.name}"]`);
    if (!wrap || wrap.hidden) continue;
    const type = s.type || 'text';
    if (type === 'checkboxes') {
      out[s.name] = [...wrap.querySelectorAll('input:checked')].map((i) => i.value);
      continue;
    }
    if (type === 'radios') {
      out[s.name] = wrap.querySelector('input:checked')?.value ?? '';
      continue;
    }
    const el = wrap.querySelector('input, select, textarea');
    if (type === 'checkbox') out[s.name] = el.checked;
    else if (type === 'number') out[s.name] = el.value === '' ? 0 : Number(el.value);
    else if (type === 'datetime') out[s.name] = el.value ? new Date(el.value).getTime() : '';
    else if (type === 'json') {
      const v = el.value.trim();
      if (!v) out[s.name] = undefined;
      else {
        try { out[s.name] = JSON.parse(v); } catch { throw new FieldError(s.name, 'common.bad_json'); }
      }
    } else out[s.name] = el.value.trim();
  }
  return out;
}

// applyShowIf shows the fields whose showIf(values) holds, and disables the
// controls of hidden ones so they neither validate nor submit. The controls
// of a locked form (the account may not change it) stay disabled.
function applyShowIf(form, specs) {
  const locked = form.hasAttribute('data-locked');
  let values = {};
  try { values = readForm(form, specs.filter((s) => !s.showIf)); } catch { /* partial */ }
  for (const s of specs) {
    if (!s.showIf) continue;
    const wrap = form.querySelector(`[data-name="${s.name}"]`);
    const show = !!s.showIf(values);
    wrap.hidden = !show;
    for (const c of wrap.querySelectorAll('input, select, textarea')) c.disabled = !show || locked;
  }
}

// form builds a form of fields with a submit button; onSubmit(values) runs on
// submit, and its failure is shown above the button.
export function form({ fields, submitLabel, onSubmit, allowed = true, write = true, extra = [], inline = false }) {
  const status = h('div', { class: 'form-status' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, submitLabel);
  if (write) submit.setAttribute('data-write', '');
  const el = h('form', { class: ['form', inline && 'form-inline'], novalidate: false },
    fields.map((f) => field(f)), extra, status, h('div', { class: 'form-actions' }, submit));
  if (!allowed) {
    el.setAttribute('data-locked', '');
    for (const c of el.querySelectorAll('input, select, textarea, button')) {
      c.disabled = true;
      if (!c.hasAttribute('data-write') && write) c.setAttribute('data-write', '');
    }
    submit.title = t('common.readonly_hint');
  }
  el.addEventListener('input', () => applyShowIf(el, fields));
  el.addEventListener('change', () => applyShowIf(el, fields));
  applyShowIf(el, fields);
  el.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    status.replaceChildren();
    let values;
    try {
      values = readForm(el, fields);
    } catch (err) {
      if (err instanceof FieldError) {
        status.append(h('p', { class: 'alert alert-error', role: 'alert' }, t(err.key)));
        return;
      }
      throw err;
    }
    await busy(submit, async () => {
      try {
        await onSubmit(values, el);
      } catch (err) {
        status.append(errorBox(err));
      }
    });
  });
  return el;
}

// ---- dialogs -------------------------------------------------------------------

function dialogShell(title, body, { wide = false } = {}) {
  const id = uid('dlg');
  const dlg = h('dialog', { class: ['dialog', wide && 'dialog-wide'], 'aria-labelledby': id },
    h('h2', { id }, title), body);
  document.body.append(dlg);
  dlg.addEventListener('close', () => dlg.remove());
  return dlg;
}

// formDialog asks for values; onSubmit(values) returns the result the promise
// resolves to, or throws (the error is shown and the dialog stays open).
// Cancelling resolves null.
export function formDialog({ title, intro, fields, submitLabel, danger = false, onSubmit, wide = false, extra }) {
  return new Promise((resolve) => {
    let result = null;
    const status = h('div', { class: 'form-status' });
    const cancel = button(t('common.cancel'), () => dlg.close());
    const submit = h('button', { type: 'submit', class: ['btn', danger ? 'btn-danger' : 'btn-primary'] }, submitLabel);
    const f = h('form', { class: 'form' },
      intro ? h('p', { class: 'lead' }, intro) : null,
      fields.map((x) => field(x)), extra ? extra.el || extra : null, status,
      h('div', { class: 'dialog-actions' }, cancel, submit));
    f.addEventListener('input', () => applyShowIf(f, fields));
    f.addEventListener('change', () => applyShowIf(f, fields));
    applyShowIf(f, fields);
    const dlg = dialogShell(title, f, { wide });
    dlg.addEventListener('close', () => resolve(result));
    f.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      status.replaceChildren();
      let values;
      try {
        values = readForm(f, fields);
      } catch (err) {
        if (err instanceof FieldError) {
          status.append(h('p', { class: 'alert alert-error', role: 'alert' }, t(err.key)));
          return;
        }
        throw err;
      }
      await busy(submit, async () => {
        try {
          result = (await onSubmit(values)) ?? true;
          dlg.close();
        } catch (err) {
          status.append(errorBox(err));
        }
      });
    });
    dlg.showModal();
    f.querySelector('input:not([type=hidden]):not([disabled]), select, textarea')?.focus();
  });
}

// confirmDialog asks a yes/no question; action() runs on yes (its failure is
// shown and the dialog stays open). Resolves true when done, false on cancel.
export function confirmDialog({ title, message, confirmLabel, danger = false, action }) {
  return formDialog({
    title,
    intro: message,
    fields: [],
    submitLabel: confirmLabel,
    danger,
    onSubmit: async () => { if (action) await action(); return true; },
  }).then((r) => r === true);
}

// secretDialog shows a secret once, with a copy button.
export function secretDialog({ title, message, secret }) {
  return new Promise((resolve) => {
    const out = h('input', { type: 'text', readonly: true, class: 'mono secret-value', value: secret, 'aria-label': title, translate: 'no' });
    const copied = h('span', { class: 'help', role: 'status' });
    const copy = button(t('common.copy'), async () => {
      out.select();
      try {
        await navigator.clipboard.writeText(secret);
        copied.textContent = t('common.copied');
      } catch {
        copied.textContent = t('common.copy_manually');
      }
    });
    const done = h('button', { type: 'submit', class: 'btn btn-primary' }, t('common.done'));
    const f = h('form', { method: 'dialog', class: 'form' },
      h('p', { class: 'alert alert-warn' }, message),
      h('div', { class: 'secret-row' }, out, copy), copied,
      h('div', { class: 'dialog-actions' }, done));
    const dlg = dialogShell(title, f);
    dlg.addEventListener('close', () => resolve());
    dlg.showModal();
    out.select();
  });
}

// kvEditor edits a string map (user attributes) as rows of key and value.
export function kvEditor(obj, { legend, disabled = false } = {}) {
  const rows = h('div', { class: 'kv-rows' });
  const addRow = (k = '', v = '') => {
    const row = h('div', { class: 'kv-row' },
      h('input', { type: 'text', class: 'kv-key', value: k, 'aria-label': t('attrs.key'), placeholder: t('attrs.key'), disabled }),
      h('input', { type: 'text', class: 'kv-value', value: v, 'aria-label': t('attrs.value'), placeholder: t('attrs.value'), disabled }),
      button(t('common.remove'), () => row.remove(), { kind: 'quiet', disabled }));
    rows.append(row);
  };
  for (const [k, v] of Object.entries(obj || {})) addRow(k, typeof v === 'string' ? v : JSON.stringify(v));
  const el = h('fieldset', { class: 'field field-group kv' }, legend ? h('legend', {}, legend) : null,
    rows, button(t('attrs.add'), () => addRow(), { kind: 'quiet', disabled }));
  const value = () => {
    const out = {};
    for (const row of rows.children) {
      const k = row.querySelector('.kv-key').value.trim();
      if (k) out[k] = row.querySelector('.kv-value').value;
    }
    return out;
  };
  return { el, value };
}

// toLocalInput turns milliseconds into a datetime-local value.
export function toLocalInput(ms) {
  if (!ms) return '';
  const dt = new Date(ms);
  const pad = (n) => String(n).padStart(2, '0');
  return `${dt.getFullYear()}-${pad(dt.getMonth() + 1)}-${pad(dt.getDate())}T${pad(dt.getHours())}:${pad(dt.getMinutes())}:${pad(dt.getSeconds())}`;
}
