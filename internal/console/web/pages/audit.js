// The audit log (owner only): every change made through the console and
// every sign-in, newest first, with filters.

import { get } from '../api.js';
import { h, d, code } from '../dom.js';
import { t } from '../i18n.js';
import { pageHead, section, pagedTable, time, form } from '../ui.js';

export async function render(view, ctx) {
  let filter = {};
  const list = pagedTable({
    caption: t('nav.audit'),
    empty: t('audit.empty'),
    columns: [
      { label: t('audit.time'), cell: (e) => time(e.ts) },
      { label: t('audit.actor'), cell: (e) => code(e.actor) },
      { label: t('audit.ip'), cell: (e) => d(e.ip) },
      { label: t('audit.action'), cell: (e) => code(e.action) },
      { label: t('audit.app'), cell: (e) => d(e.app || '—') },
      { label: t('audit.target'), cell: (e) => d(e.target || '—') },
      {
        label: t('audit.detail'),
        class: 'wide',
        cell: (e) => (e.detail && Object.keys(e.detail).length
          ? h('details', {}, h('summary', {}, t('audit.show')), d(JSON.stringify(e.detail, null, 2), 'pre', { class: 'mono' }))
          : d('—')),
      },
    ],
    fetch: (cursor) => get('/audit', { ...filter, cursor, limit: 50 }),
  });
  const filters = form({
    fields: [
      { name: 'actor', label: t('audit.actor'), autocomplete: 'off' },
      { name: 'action', label: t('audit.action'), placeholder: t('audit.action_placeholder'), autocomplete: 'off' },
      { name: 'app', label: t('audit.app'), placeholder: t('audit.app_placeholder'), autocomplete: 'off' },
      { name: 'since', label: t('audit.since'), type: 'datetime' },
      { name: 'until', label: t('audit.until'), type: 'datetime' },
    ],
    submitLabel: t('audit.filter'),
    write: false,
    onSubmit: async (v) => { filter = v; await list.load(); },
  });
  filters.classList.add('form-grid');
  view.append(pageHead(t('nav.audit'), { lead: t('audit.lead') }), section(t('audit.filters'), filters), section(t('audit.entries'), list.el));
  await list.load();
}
