// Messages of the chosen app: look up a 1:1 or group conversation with
// filters, show bodies (attachments as links and thumbnails), recall.

import { get, post, appPath } from '../api.js';
import { h, d, code } from '../dom.js';
import { t, fmtBytes } from '../i18n.js';
import { pageHead, section, pagedTable, time, badge, writeButton, confirmDialog, toast, form } from '../ui.js';
import { typeLabel } from './dashboard.js';

const TYPES = ['txt', 'img', 'audio', 'video', 'file', 'loc', 'cmd', 'custom', 'combine'];

// fileURL adds what the download needs: the share secret of a restricted
// upload, and thumbnail=true for a thumbnail.
export function fileURL(url, { secret, thumbnail } = {}) {
  let u;
  try { u = new URL(url, location.href); } catch { return ''; }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return '';
  if (secret) u.searchParams.set('share-secret', secret);
  if (thumbnail) u.searchParams.set('thumbnail', 'true');
  return u.href;
}

function attachmentLink(b, label) {
  const href = fileURL(b.url, { secret: b.secret });
  const meta = [b.file_length ? fmtBytes(b.file_length) : '', b.length ? t('messages.seconds', { n: b.length }) : ''].filter(Boolean);
  return h('span', { class: 'attachment' },
    href ? h('a', { href, target: '_blank', rel: 'noopener noreferrer', class: 'attachment-link' }, label, ' ', d(b.filename || t('messages.download'), 'span')) : d(b.url),
    meta.length ? [' ', d(`(${meta.join(', ')})`, 'span', { class: 'muted' })] : null);
}

// content shows an item's body by type.
export function content(it) {
  if (it.kind === 'recall') return h('span', { class: 'muted' }, t('messages.recall_item'), ' ', code(it.target));
  if (it.recalled) return null; // the Recalled badge says it
  const b = it.body || {};
  switch (it.type) {
    case 'txt':
      return d(b.msg, 'span', { class: 'msg-text' });
    case 'img': {
      const full = fileURL(b.url, { secret: b.secret });
      const thumb = b.thumb ? fileURL(b.thumb, { secret: b.thumb_secret || b.secret }) : fileURL(b.url, { secret: b.secret, thumbnail: true });
      return h('span', { class: 'attachment' },
        full ? h('a', { href: full, target: '_blank', rel: 'noopener noreferrer', class: 'thumb-link' },
          h('img', { src: thumb, alt: t('messages.image_alt', { name: b.filename || '' }), loading: 'lazy', class: 'thumb', width: 96, height: 96 })) : null,
        attachmentLink(b, t('messages.image')));
    }
    case 'video': {
      const thumb = b.thumb ? fileURL(b.thumb, { secret: b.thumb_secret || b.secret }) : '';
      return h('span', { class: 'attachment' },
        thumb ? h('img', { src: thumb, alt: t('messages.video_alt'), loading: 'lazy', class: 'thumb', width: 96, height: 96 }) : null,
        attachmentLink(b, t('messages.video')));
    }
    case 'audio':
      return attachmentLink(b, t('messages.audio'));
    case 'file':
      return attachmentLink(b, t('messages.file'));
    case 'combine':
      return h('span', {}, d(b.title || '', 'strong'), ' ', attachmentLink(b, t('messages.combine')));
    case 'loc':
      return h('span', {}, t('messages.location'), ' ', d(`${b.lat}, ${b.lng}${b.addr ? ` · ${b.addr}` : ''}`));
    case 'cmd':
      return h('span', {}, t('messages.command'), ' ', code(b.action));
    case 'custom':
      return h('span', {}, t('messages.custom'), ' ', code(b.customEvent || ''),
        b.customExts ? [' ', d(JSON.stringify(b.customExts), 'span', { class: 'mono muted' })] : null);
    default:
      return d(JSON.stringify(b), 'span', { class: 'mono' });
  }
}

export async function render(view, ctx) {
  const allowed = ctx.canWrite();
  const q = ctx.query;
  const fields = [
    {
      name: 'mode', label: t('messages.conversation'), type: 'radios', value: q.get('group') ? 'group' : 'chat',
      options: [{ value: 'chat', label: t('messages.mode_chat') }, { value: 'group', label: t('messages.mode_group') }],
    },
    { name: 'user', label: t('messages.user'), required: true, value: q.get('user') || '', autocomplete: 'off', showIf: (v) => v.mode !== 'group' },
    { name: 'peer', label: t('messages.peer'), required: true, value: q.get('peer') || '', autocomplete: 'off', showIf: (v) => v.mode !== 'group' },
    { name: 'group', label: t('messages.group'), required: true, value: q.get('group') || '', autocomplete: 'off', inputmode: 'numeric', showIf: (v) => v.mode === 'group' },
    { name: 'from', label: t('messages.from'), autocomplete: 'off' },
    { name: 'type', label: t('messages.type'), type: 'select', value: '', options: [{ value: '', label: t('messages.any_type') }, ...TYPES.map((x) => ({ value: x, label: t(`msgtype.${x}`) }))] },
    { name: 'since', label: t('messages.since'), type: 'datetime' },
    { name: 'until', label: t('messages.until'), type: 'datetime' },
  ];

  let filter = null;
  const results = pagedTable({
    caption: t('messages.results'),
    empty: t('messages.empty'),
    columns: [
      { label: t('messages.time'), cell: (it) => time(it.ts) },
      { label: t('messages.seq'), cell: (it) => d(it.seq) },
      { label: t('messages.from'), cell: (it) => d(it.from) },
      { label: t('messages.to'), cell: (it) => d(it.to) },
      { label: t('messages.type'), cell: (it) => (it.kind === 'recall' ? t('messages.kind_recall') : typeLabel(it.type)) },
      { label: t('messages.content'), class: 'wide', cell: (it) => [content(it), it.recalled ? badge(t('messages.recalled'), 'warn') : null] },
      {
        label: t('common.actions'),
        class: 'actions',
        cell: (it) => (it.kind !== 'msg' || it.recalled || it.type === 'cmd' || !it.seq
          ? d('')
          : writeButton(allowed, t('messages.recall'), () => recall(it), { kind: 'quiet-danger', 'aria-label': t('messages.recall_named', { id: it.msg_id }) })),
      },
    ],
    fetch: (cursor) => get(appPath(ctx.app, 'messages'), { ...filter, cursor, limit: 50 }),
  });
  const resultsSection = section(t('messages.results'), results.el);
  resultsSection.hidden = true;

  async function recall(it) {
    const ok = await confirmDialog({
      title: t('messages.recall'),
      message: t('messages.recall_confirm', { from: it.from, id: it.msg_id }),
      confirmLabel: t('messages.recall'),
      danger: true,
      action: () => post(appPath(ctx.app, 'messages', it.msg_id, 'recall')),
    });
    if (ok) { toast(t('messages.recalled_done')); results.load(); }
  }

  const lookup = form({
    fields,
    submitLabel: t('messages.lookup'),
    write: false,
    onSubmit: async (v) => {
      filter = v.mode === 'group'
        ? { group: v.group }
        : { user: v.user, peer: v.peer };
      Object.assign(filter, { from: v.from, type: v.type, since: v.since, until: v.until });
      resultsSection.hidden = false;
      await results.load();
    },
  });
  lookup.classList.add('form-grid');
  view.append(pageHead(t('nav.messages'), { lead: t('messages.lead', { app: ctx.app }) }), section(t('messages.lookup_title'), lookup), resultsSection);
  if (q.get('group') || (q.get('user') && q.get('peer'))) lookup.requestSubmit();
}
