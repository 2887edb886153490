// Building DOM without innerHTML: h(tag, props, ...children). Strings become
// text nodes (never parsed as markup), so data from the server is always
// shown as text. Values that are data rather than console wording (names,
// IDs, times, message bodies) go in elements marked translate="no": the
// browser tests check that every other text is a translated string.

const SVG_NS = 'http://www.w3.org/2000/svg';

export function h(tag, props, ...children) {
  const svg = tag.startsWith('svg:');
  const el = svg ? document.createElementNS(SVG_NS, tag.slice(4)) : document.createElement(tag);
  let value;
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') {
      const c = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
      if (c) el.setAttribute('class', c);
    } else if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2).toLowerCase(), v);
    } else if (k === 'dataset') {
      Object.assign(el.dataset, v);
    } else if (k === 'value') {
      value = v;
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  if (value !== undefined) el.value = value; // after the options of a <select>
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false || c === '') continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// d shows a data value (not translated) as text.
export function d(value, tag = 'span', props = {}) {
  return h(tag, { ...props, translate: 'no' }, value === undefined || value === null ? '' : String(value));
}

// code shows an identifier (not translated) in monospace.
export function code(value) {
  return h('code', { translate: 'no' }, String(value ?? ''));
}

let ids = 0;
export function uid(prefix = 'id') {
  ids += 1;
  return `${prefix}-${ids}`;
}

export function clear(el) {
  el.replaceChildren();
  return el;
}
