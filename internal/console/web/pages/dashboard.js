// The dashboard: the server's live figures (GET /stats once, then one
// "stats" event every 2 s from /stats/stream) as numbers and charts.
// Who is online is cluster-wide; the counters (messages, push, errors) are
// the answering node's totals since it started. The charts show how much
// each counter grew in the last minute: per_minute comes from the server,
// the other rates from the samples this page has seen (so they start at 0).

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

// lastMinute keeps samples of counters and returns how much each grew over
// the last minute of samples. A counter that went down (the node restarted,
// or another node answered) starts over.
export function lastMinute() {
  const samples = [];
  return (ts, values) => {
    const prev = samples[samples.length - 1];
    if (prev && Object.entries(values).some(([k, v]) => v < (prev.values[k] ?? 0))) samples.length = 0;
    samples.push({ ts, values });
    while (samples.length > 2 && samples[1].ts <= ts - 60e3) samples.shift();
    const base = samples[0].values;
    return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Math.max(0, v - (base[k] ?? 0))]));
  };
}

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

  const head = pageHead(t('nav.dashboard'), { lead: t('dash.lead', { node: '—' }) });
  const lead = head.querySelector('.lead');
  view.append(
    head,
    status, errorSlot, figures,
    h('div', { class: 'charts' }, people.el, msgs.el, push.el, errors.el));

  let types = [];
  let lastTS = 0;
  const typeRates = lastMinute();
  const pushRates = lastMinute();
  const errorRates = lastMinute();
  function update(s) {
    if (!s || s.ts === lastTS) return;
    lastTS = s.ts;
    lead.textContent = t('dash.lead', { node: s.node ?? '—' });
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
    const rates = typeRates(ts, Object.fromEntries(types.map((k) => [k, byType[k] ?? 0])));
    for (const k of types) mv[`type:${k}`] = rates[k];
    msgs.push(ts, mv);
    push.push(ts, pushRates(ts, { sent: s.push?.sent ?? 0, failed: s.push?.failed ?? 0 }));
    errors.push(ts, errorRates(ts, { errors: s.errors ?? 0 }));
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
