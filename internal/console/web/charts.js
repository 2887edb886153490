// Small SVG line charts for the dashboard: the last minutes of samples,
// several series, an automatic y scale, a legend with the latest values.
// No library, no inline styles: colours come from classes in styles.css.

import { h, d } from './dom.js';
import { fmtClock, fmtNumber } from './i18n.js';

const W = 480;
const H = 180;
const PAD = { left: 44, right: 10, top: 10, bottom: 22 };
const TICKS = 4;

// niceStep picks the y axis step for a maximum: 1, 2 or 5 times a power of
// ten, at least 1 (the figures are counts).
export function niceStep(max) {
  const raw = Math.max(max / TICKS, 1);
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (raw <= m * p) return m * p;
  return 10 * p;
}

// lineChart returns {el, push(ts, values), setSeries(series)}. series is
// [{key, label}]; values maps keys to numbers. The chart shows the last
// spanMs milliseconds, the newest sample at the right edge.
export function lineChart({ title, series, spanMs = 5 * 60e3, describe }) {
  let list = series.slice();
  const samples = [];
  const svg = h('svg:svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart-svg', role: 'img' });
  const legend = h('ul', { class: 'chart-legend' });
  const el = h('figure', { class: 'chart' }, h('figcaption', {}, title), svg, legend);

  function render() {
    svg.replaceChildren();
    const plotW = W - PAD.left - PAD.right;
    const plotH = H - PAD.top - PAD.bottom;
    let max = 0;
    for (const smp of samples) for (const x of list) max = Math.max(max, smp.values[x.key] ?? 0);
    const step = niceStep(max);
    const top = step * TICKS;
    const last = samples.length ? samples[samples.length - 1].ts : Date.now();
    // The time axis grows from a minute to spanMs as samples arrive.
    const span = Math.min(spanMs, Math.max(60e3, last - (samples[0]?.ts ?? last)));
    const start = last - span;
    const y = (v) => PAD.top + plotH - (v / top) * plotH;
    const x = (ts) => PAD.left + ((ts - start) / span) * plotW;
    const grid = h('svg:g', { class: 'chart-grid', translate: 'no' });
    for (let i = 0; i <= TICKS; i++) {
      grid.append(
        h('svg:line', { x1: PAD.left, x2: W - PAD.right, y1: y(step * i), y2: y(step * i) }),
        h('svg:text', { x: PAD.left - 6, y: y(step * i) + 4, 'text-anchor': 'end' }, fmtNumber(step * i)));
    }
    grid.append(
      h('svg:text', { x: PAD.left, y: H - 5, 'text-anchor': 'start' }, fmtClock(start)),
      h('svg:text', { x: W - PAD.right, y: H - 5, 'text-anchor': 'end' }, fmtClock(last)));
    svg.append(grid);
    list.forEach((s, n) => {
      const pts = samples.map((smp) => `${x(smp.ts).toFixed(1)},${y(smp.values[s.key] ?? 0).toFixed(1)}`);
      if (pts.length) svg.append(h('svg:polyline', { points: pts.join(' '), class: `series s${n % 8}` }));
      if (pts.length === 1) {
        const [cx, cy] = pts[0].split(',');
        svg.append(h('svg:circle', { cx, cy, r: 2.5, class: `dot s${n % 8}` }));
      }
    });
    const latest = samples[samples.length - 1]?.values || {};
    legend.replaceChildren(...list.map((s, n) => h('li', {},
      h('span', { class: `swatch s${n % 8}`, 'aria-hidden': 'true' }),
      h('span', {}, s.label), ' ',
      d(fmtNumber(latest[s.key] ?? 0), 'strong', { dataset: { series: s.key } }))));
    svg.setAttribute('aria-label', describe ? describe(latest) : title);
  }

  render();
  return {
    el,
    push(ts, values) {
      samples.push({ ts, values });
      while (samples.length > 1 && samples[0].ts < ts - spanMs) samples.shift();
      render();
    },
    setSeries(next) {
      list = next.slice();
      render();
    },
    rerender: render,
  };
}
