// Small SVG line charts for the dashboard: a rolling window of samples,
// several series, an automatic y scale, a legend with the latest values.
// No library, no inline styles: colours come from classes in styles.css.

import { h, d } from './dom.js';
import { fmtClock, fmtNumber } from './i18n.js';

const W = 640;
const H = 200;
const PAD = { left: 52, right: 12, top: 12, bottom: 24 };

// niceMax rounds a maximum up to 1, 2 or 5 times a power of ten.
export function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

// lineChart returns {el, push(ts, values), setSeries(series)}. series is
// [{key, label}]; values maps keys to numbers. window is how many samples
// are kept.
export function lineChart({ title, series, window = 150, describe }) {
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
    for (const s of samples) for (const x of list) max = Math.max(max, s.values[x.key] ?? 0);
    max = niceMax(max);
    const y = (v) => PAD.top + plotH - (v / max) * plotH;
    const x = (i) => PAD.left + (i / (window - 1)) * plotW;
    const grid = h('svg:g', { class: 'chart-grid', translate: 'no' });
    for (let i = 0; i <= 4; i++) {
      const v = (max / 4) * i;
      grid.append(
        h('svg:line', { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v) }),
        h('svg:text', { x: PAD.left - 6, y: y(v) + 4, 'text-anchor': 'end' }, fmtNumber(Math.round(v * 100) / 100)));
    }
    if (samples.length) {
      const first = samples[0].ts;
      const last = samples[samples.length - 1].ts;
      grid.append(h('svg:text', { x: PAD.left, y: H - 6, 'text-anchor': 'start' }, fmtClock(first)));
      if (samples.length > 1) grid.append(h('svg:text', { x: W - PAD.right, y: H - 6, 'text-anchor': 'end' }, fmtClock(last)));
    }
    svg.append(grid);
    // Samples are drawn from the left edge; the newest is at the right end
    // once the window is full.
    const offset = window - samples.length;
    list.forEach((s, n) => {
      const pts = samples.map((smp, i) => `${x(i + offset).toFixed(1)},${y(smp.values[s.key] ?? 0).toFixed(1)}`);
      if (pts.length === 1) pts.unshift(`${PAD.left},${pts[0].split(',')[1]}`);
      if (pts.length) svg.append(h('svg:polyline', { points: pts.join(' '), class: `series s${n % 8}` }));
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
      while (samples.length > window) samples.shift();
      render();
    },
    setSeries(next) {
      list = next.slice();
      render();
    },
    rerender: render,
  };
}
