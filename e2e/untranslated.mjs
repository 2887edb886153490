// untranslated runs in a page (page.evaluate(untranslated, {...})): every
// visible string (text nodes and the placeholder, title, aria-label and alt
// attributes) must be a value of the dictionary, its {placeholders}
// standing for anything, unless it is data (inside translate="no", or
// inside `skip`, a selector) or only digits and punctuation. The document
// title must be `title` (or end with it, with `titleSuffix`). It returns
// the strings that are not. Self-contained: the browser runs its source.
export function untranslated({ dict, skip, title, titleSuffix }) {
  const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const patterns = Object.values(dict).map((v) => new RegExp(`^${v.split(/\{\w+\}/).map(esc).join('[\\s\\S]*')}$`));
  const ok = (raw) => {
    const s = raw.replace(/\s+/g, ' ').trim();
    if (!s || /^[\d\s.,:;%+\-−–—·/()（）#*←→|]*$/.test(s)) return true;
    return patterns.some((p) => p.test(s));
  };
  const data = skip ? `[translate="no"], ${skip}` : '[translate="no"]';
  const bad = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) {
    const n = walk.currentNode;
    if (n.parentElement.closest(`${data}, script, style`)) continue;
    if (!ok(n.data)) bad.push(n.data.trim());
  }
  for (const el of document.body.querySelectorAll('[placeholder], [title], [aria-label], [alt]')) {
    if (el.closest(data)) continue;
    for (const a of ['placeholder', 'title', 'aria-label', 'alt']) {
      const v = el.getAttribute(a);
      if (v !== null && !ok(v)) bad.push(`${a}="${v}"`);
    }
  }
  if (titleSuffix ? !document.title.endsWith(title) : document.title !== title) bad.push(`title "${document.title}"`);
  return bad;
}
