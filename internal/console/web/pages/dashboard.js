// The dashboard: the server's live figures (GET /stats once, then one
// "stats" event every 2 s from /stats/stream) as numbers and charts.

import { BASE, get } from '../api.js';
import { h, d } from '../dom.js';
import { t, has, fmtNumber } from '../i18n.js';
import { pageHead, errorBox } from '../ui.js';
import { lineChart } from '../charts.js';

const FIGURES = [
  ['nodes', (s) => s.nodes],
  ['online_users', (s) => s.online_users],
  ['connections', (s) => s.connections],
  ['messages_per_minute', (s) => s.messages?.per_minute],
  ['messages_total', (s) => s.messages?.total],
  ['push_sent', (s) => s.push?.sent],
  ['push_failed', (s) => s.push?.failed],
  ['errors', (s) => s.errors],
];

export function typeLabel(type) {
  return has(`msgtype.${type}`) ? t(`msgtype.${type}`) : d(type);
}

export async function render(view) {
  const status = h('p', { class: 'live-status', role: 'status' }, t('dash.connecting'));
  const figures = h('div', { class: 'figures' }, FIGURES.map(([key]) =>
    h('div', { class: 'figure', id: `fig-${key}` },
      h('span', { class: 'figure-label' }, t(`dash.${key}`)),
      d('—', 'strong', { class: 'figure-value' }))));

  const people = lineChart({
    title: t('dash.chart_online'),
    series: [{ key: 'online_users', label: t('dash.online_users') }, { key: 'connections', label: t('dash.connections') }],
  });
  const msgs = lineChart({ title: t('dash.chart_messages'), series: [{ key: 'total', label: t('dash.all_types') }] });
  const push = lineChart({
    title: t('dash.chart_push'),
    series: [{ key: 'sent', label: t('dash.push_sent') }, { key: 'failed', label: t('dash.push_failed') }],
  });
  const errors = lineChart({ title: t('dash.chart_errors'), series: [{ key: 'errors', label: t('dash.errors') }] });
  const errorSlot = h('div');

  view.append(
    pageHead(t('nav.dashboard'), { lead: t('dash.lead') }),
    status, errorSlot, figures,
    h('div', { class: 'charts' }, people.el, msgs.el, push.el, errors.el));

  let types = [];
  let lastTS = 0;
  function update(s) {
    if (!s || s.ts === lastTS) return;
    lastTS = s.ts;
    for (const [key, pick] of FIGURES) {
      const el = view.querySelector(`#fig-${key} .figure-value`);
      if (el) el.textContent = fmtNumber(pick(s) ?? 0);
    }
    const ts = s.ts || Date.now();
    people.push(ts, { online_users: s.online_users ?? 0, connections: s.connections ?? 0 });
    const byType = s.messages?.by_type || {};
    const seen = Object.keys(byType).sort();
    if (seen.some((k) => !types.includes(k))) {
      types = [...new Set([...types, ...seen])].sort();
      msgs.setSeries([{ key: 'total', label: t('dash.all_types') }, ...types.map((k) => ({ key: `type:${k}`, label: typeLabel(k) }))]);
    }
    const mv = { total: s.messages?.per_minute ?? 0 };
    for (const k of types) mv[`type:${k}`] = byType[k] ?? 0;
    msgs.push(ts, mv);
    push.push(ts, { sent: s.push?.sent ?? 0, failed: s.push?.failed ?? 0 });
    errors.push(ts, { errors: s.errors ?? 0 });
  }

  try {
    update(await get('/stats'));
  } catch (err) {
    errorSlot.replaceChildren(errorBox(err));
  }

  const es = new EventSource(`${BASE}/stats/stream`, { withCredentials: true });
  es.addEventListener('open', () => {
    status.textContent = t('dash.live');
    status.className = 'live-status live-on';
  });
  es.addEventListener('stats', (e) => {
    try { update(JSON.parse(e.data)); } catch (err) { console.error(err); }
  });
  es.addEventListener('error', () => {
    status.textContent = t('dash.reconnecting');
    status.className = 'live-status live-off';
    // A closed stream (e.g. the session ended) is not retried by the
    // browser: ask the session, whose 401 returns to the sign-in page.
    if (es.readyState === EventSource.CLOSED) get('/session').catch(() => {});
  });
  return () => es.close();
}
