// The demo web chat: sign up or sign in, then chat 1:1 and in groups with
// text, images and files, recall, read marks and presence. Everything goes
// through the TypeScript SDK (./sdk/, the committed browser build).
// No innerHTML: every string reaches the page through textContent.

import { Client, StorageState, imageBody, fileBody } from './sdk/index.js';
import { t, apply, setLang, getLang } from './i18n.js';

const $ = (id) => document.getElementById(id);
const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

let client = null;
let me = '';
const convs = new Map(); // conv_id → Conversation
const groupNames = new Map(); // group id → name
const presence = new Map(); // user → online
const subscribed = new Set();
// The open conversation: { chatType, peer (user or group id), conv (id or '') }.
let cur = null;
const shown = new Map(); // msg_id → { item, li } of the open conversation
const blobURLs = new Map(); // file url → object URL (images)

// ---- sign in and sign up

function showError(id, err) {
  const p = $(id);
  p.hidden = !err;
  p.textContent = err ? (err.message || String(err)) : '';
}

function formValues() {
  const f = $('signin-form');
  const v = (n) => f.elements[n].value.trim();
  return { org: v('org'), app: v('app'), username: v('username'), password: f.elements.password.value };
}

async function signUp() {
  const v = formValues();
  if (!v.org || !v.app) return showError('signin-error', new Error(t('needOrgApp')));
  if (!$('signin-form').reportValidity()) return;
  showError('signin-error', null);
  const res = await fetch(`/${encodeURIComponent(v.org)}/${encodeURIComponent(v.app)}/users`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: v.username, password: v.password }),
  });
  if (!res.ok) {
    const data = await res.json().catch(() => ({}));
    throw new Error(data.error_description || data.error || `HTTP ${res.status}`);
  }
  await signIn();
}

async function signIn() {
  const v = formValues();
  showError('signin-error', null);
  // One resource per browser tab (kept across reloads), so that two tabs
  // are two devices and a reload is the same one.
  let resource = sessionStorage.getItem('parley-demo:resource');
  if (!resource) {
    resource = 'web_' + Math.random().toString(36).slice(2, 10);
    sessionStorage.setItem('parley-demo:resource', resource);
  }
  const c = new Client({
    baseURL: location.origin,
    org: v.org, app: v.app, username: v.username, password: v.password,
    resource, platform: 'web', deviceName: 'Parley demo',
    state: new StorageState(sessionStorage, `parley-demo:${v.org}/${v.app}/${v.username}:`),
  });
  wire(c);
  try {
    await c.connect();
  } catch (e) {
    c.close();
    throw e;
  }
  client = c;
  me = c.user;
  localStorage.setItem('parley-demo:last', JSON.stringify({ org: v.org, app: v.app, username: v.username }));
  $('me-name').textContent = me;
  $('signin').hidden = true;
  $('chat').hidden = false;
  await Promise.all([loadGroups(), loadConversations()]);
}

function signOut() {
  client?.close();
  client = null;
  convs.clear();
  groupNames.clear();
  presence.clear();
  subscribed.clear();
  groupCounts.clear();
  for (const u of blobURLs.values()) u.then((x) => URL.revokeObjectURL(x)).catch(() => {});
  blobURLs.clear();
  closeConv();
  $('convs').replaceChildren();
  $('chat').hidden = true;
  $('signin').hidden = false;
  $('signin-form').elements.password.value = '';
}

// ---- SDK events

function wire(c) {
  c.on('connection', (e) => {
    connState = e.state === 'disconnected' ? 'disconnected' : 'connected';
    renderConn();
    $('me-dot').className = 'dot' + (e.state === 'disconnected' ? '' : ' online');
    if (e.state === 'disconnected' && e.final && client === c) {
      // Signed out for good (a kick, a ban, a revoked token): say why.
      signOut();
      showError('signin-error', e.error || new Error(e.reason || `closed (${e.code})`));
    }
  });
  c.on('conversation', ({ conversation }) => {
    if (conversation.deleted) convs.delete(conversation.conv_id);
    else convs.set(conversation.conv_id, conversation);
    renderConvs();
  });
  c.on('message', ({ item }) => {
    if (inOpen(item)) {
      showItem(item);
      if (item.from !== me && item.seq && document.visibilityState === 'visible') {
        c.markRead(item.conv_id, item.seq).catch(() => {});
        const cv = convs.get(item.conv_id);
        if (cv) cv.unread = 0;
      }
    }
    refreshSoon();
  });
  c.on('recall', ({ item }) => {
    if (inOpen(item)) markRecalled(item.target, item.from);
    refreshSoon();
  });
  c.on('edit', ({ item }) => {
    const s = shown.get(item.target);
    if (s) {
      Object.assign(s.item, { body: item.body, ext: item.ext, edits: item.edits });
      const li = renderItem(s.item);
      s.li.replaceWith(li);
      s.li = li;
    }
  });
  c.on('groupNotice', ({ item }) => {
    loadGroups().catch(() => {});
    if (inOpen(item)) showItem(item);
    refreshSoon();
  });
  c.on('receipt', (r) => {
    if (r.by === me) return;
    const cv = convs.get(r.conv_id);
    if (!cv || !r.seq) return refreshSoon(); // the list brings the new watermarks
    if (r.kind !== 'delivered' && r.seq > cv.peer_read_seq) cv.peer_read_seq = r.seq;
    if (r.kind === 'delivered' && r.seq > cv.peer_delivered_seq) cv.peer_delivered_seq = r.seq;
    if (cur && cur.conv === r.conv_id) updateMarks();
  });
  c.on('presence', (p) => {
    presence.set(p.user, p.online);
    renderConvs();
    renderHead();
  });
}

let connState = 'connecting';
function renderConn() { $('conn').textContent = t(connState); }

// inOpen: whether an item belongs to the open conversation (whose id a new
// chat learns from its first message).
function inOpen(item) {
  if (!cur) return false;
  if (cur.conv) return item.conv_id === cur.conv;
  const match = cur.chatType === 'groupchat'
    ? item.chat_type === 'groupchat' && item.to === cur.peer
    : item.chat_type === 'chat' && ((item.from === cur.peer && item.to === me) || (item.from === me && item.to === cur.peer));
  if (match) cur.conv = item.conv_id;
  return match;
}

// ---- the conversation list

let refreshTimer = 0;
function refreshSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => loadConversations().catch(() => {}), 150);
}

async function loadConversations() {
  if (!client) return;
  const all = [];
  let cursor = '';
  do {
    const page = await client.conversations(100, cursor);
    all.push(...page.conversations);
    cursor = page.cursor;
  } while (cursor && all.length < 500);
  convs.clear();
  for (const cv of all) if (!cv.deleted) convs.set(cv.conv_id, cv);
  if (cur && cur.conv && convs.get(cur.conv)?.unread) {
    convs.get(cur.conv).unread = 0;
    client.markRead(cur.conv).catch(() => {});
  }
  const peers = all.filter((cv) => cv.chat_type === 'chat' && !subscribed.has(cv.peer)).map((cv) => cv.peer);
  if (peers.length) await subscribe(peers);
  renderConvs();
  if (cur) updateMarks();
}

async function subscribe(users) {
  for (const u of users) subscribed.add(u);
  try {
    const ps = await client.people.subscribePresence(users, 24 * 3600);
    for (const p of ps) presence.set(p.user, p.online);
  } catch { /* presence is a nicety */ }
}

async function loadGroups() {
  const gs = await client.groups.allMine();
  for (const g of gs) groupNames.set(g.id, g.name || g.id);
  renderConvs();
  renderHead();
}

function convTitle(cv) {
  return cv.chat_type === 'groupchat' ? (groupNames.get(cv.group || cv.peer) || cv.group || cv.peer) : cv.peer;
}

function preview(item) {
  if (!item) return '';
  if (item.kind === 'recall') return item.from === me ? t('recalledByMe') : t('recalled');
  if (item.kind === 'notice') return t('notice', { type: item.type || item.body?.type || '' });
  if (item.recalled) return t('recalled');
  const who = item.chat_type === 'groupchat' ? `${item.from === me ? t('you') : item.from}: ` : '';
  return who + summary(item);
}

function summary(item) {
  switch (item.type) {
    case 'txt': return item.body?.msg ?? '';
    case 'img': return t('image');
    case 'file': return `${t('file')} ${item.body?.filename ?? ''}`;
    case 'audio': return t('audio');
    case 'video': return t('video');
    case 'loc': return `${t('location')} ${item.body?.addr ?? ''}`;
    default: return t('other', { type: item.type });
  }
}

function renderConvs() {
  const ul = $('convs');
  const list = [...convs.values()];
  ul.replaceChildren(...list.map((cv) => {
    const li = el('li', 'conv-item' + (cur && cur.conv === cv.conv_id ? ' active' : ''));
    li.dataset.conv = cv.conv_id;
    const btn = el('button', 'conv-btn');
    btn.type = 'button';
    const title = convTitle(cv);
    const avatar = el('span', 'avatar' + (cv.chat_type === 'groupchat' ? ' group' : ''), title.slice(0, 1).toUpperCase());
    avatar.setAttribute('translate', 'no');
    if (cv.chat_type === 'chat') avatar.append(el('span', 'dot' + (presence.get(cv.peer) ? ' online' : '')));
    const text = el('span', 'conv-text');
    const name = el('span', 'conv-name', title);
    name.setAttribute('translate', 'no');
    const last = el('span', 'conv-last muted', preview(cv.last));
    last.setAttribute('translate', 'no');
    text.append(name, last);
    btn.append(avatar, text);
    if (cv.unread > 0) {
      const b = el('span', 'badge', cv.unread > 99 ? '99+' : String(cv.unread));
      b.setAttribute('aria-label', String(cv.unread));
      btn.append(b);
    }
    btn.addEventListener('click', () => openConv(cv.chat_type, cv.chat_type === 'groupchat' ? (cv.group || cv.peer) : cv.peer, cv.conv_id));
    li.append(btn);
    return li;
  }));
  $('convs-empty').hidden = list.length > 0;
}

// ---- the open conversation

async function openConv(chatType, peer, conv = '') {
  if (!conv) {
    for (const cv of convs.values()) {
      const p = cv.chat_type === 'groupchat' ? (cv.group || cv.peer) : cv.peer;
      if (cv.chat_type === chatType && p === peer) conv = cv.conv_id;
    }
  }
  cur = { chatType, peer, conv };
  shown.clear();
  $('msgs').replaceChildren();
  $('conv').hidden = false;
  $('pane-empty').hidden = true;
  document.body.classList.add('in-conv');
  showError('conv-error', null);
  renderHead();
  renderConvs();
  if (chatType === 'chat' && !subscribed.has(peer)) subscribe([peer]).then(renderHead);
  else if (chatType === 'groupchat') loadGroupInfo(peer);
  $('text').focus();
  if (!conv) return;
  await loadHistory();
  const cv = convs.get(conv);
  if (cv && cv.unread > 0) {
    cv.unread = 0;
    renderConvs();
  }
  await client.markRead(conv).catch(() => {});
}

// loadHistory shows a page of the open conversation's history: the latest
// one, or the one before the oldest message shown. An "Earlier messages"
// button at the top loads the next when there are more.
async function loadHistory() {
  const want = cur;
  const first = [...shown.values()].map((s) => s.item).filter((it) => it.seq).sort((a, b) => a.seq - b.seq)[0];
  const { items, more } = await client.history(want.conv, first ? { msgId: first.msg_id, limit: 30 } : { limit: 30 });
  if (cur !== want) return;
  const ol = $('msgs');
  const height = ol.scrollHeight;
  $('earlier')?.remove();
  for (const it of items) showItem(it, !!first);
  if (more) {
    const li = el('li', 'earlier');
    li.id = 'earlier';
    const b = el('button', 'link', t('earlier'));
    b.type = 'button';
    b.addEventListener('click', () => loadHistory().catch((e) => showError('conv-error', e)));
    li.append(b);
    ol.prepend(li);
  }
  if (first) ol.scrollTop += ol.scrollHeight - height; // keep what was in view
}

// groupCounts: group ID → member count, for the header.
const groupCounts = new Map();
function loadGroupInfo(group) {
  client.groups.info(group).then((g) => {
    groupCounts.set(group, g.affiliations_count);
    if (g.name) groupNames.set(group, g.name);
    renderHead();
  }).catch(() => {});
}

function closeConv() {
  cur = null;
  shown.clear();
  $('conv').hidden = true;
  $('pane-empty').hidden = false;
  document.body.classList.remove('in-conv');
}

function renderHead() {
  if (!cur) return;
  const group = cur.chatType === 'groupchat';
  $('peer-name').textContent = group ? (groupNames.get(cur.peer) || cur.peer) : cur.peer;
  const on = !group && presence.get(cur.peer);
  $('peer-dot').className = 'dot' + (on ? ' online' : '');
  $('peer-dot').hidden = group;
  const n = groupCounts.get(cur.peer);
  $('peer-status').textContent = group ? (n ? t('members', { n }) : t('group')) : (on ? t('online') : t('offline'));
}

// showItem puts an item in its place by seq (live items may arrive while
// history loads); older ones (a history page) leave the scroll alone.
function showItem(item, older = false) {
  if (item.kind === 'recall') return markRecalled(item.target, item.from);
  if (item.kind === 'edit') return;
  if (item.msg_id && shown.has(item.msg_id)) return;
  const li = renderItem(item);
  li.dataset.seq = String(item.seq || 0);
  shown.set(item.msg_id, { item, li });
  const ol = $('msgs');
  const atBottom = ol.scrollHeight - ol.scrollTop - ol.clientHeight < 80;
  let after = null; // the first shown item with a higher seq
  if (item.seq) {
    for (let n = ol.lastElementChild; n && n.id !== 'earlier'; n = n.previousElementSibling) {
      const seq = Number(n.dataset.seq);
      if (seq && seq > item.seq) after = n;
      else if (seq) break;
    }
  }
  if (after) after.before(li);
  else ol.append(li);
  if (!older && (atBottom || item.from === me)) ol.scrollTop = ol.scrollHeight;
}

function renderItem(item) {
  if (item.kind === 'notice') {
    const n = el('li', 'notice muted small', t('notice', { type: item.type || item.body?.type || '' }));
    n.dataset.seq = String(item.seq || 0);
    return n;
  }
  const mine = item.from === me;
  const li = el('li', 'msg' + (mine ? ' mine' : ''));
  li.dataset.msgId = item.msg_id;
  li.dataset.seq = String(item.seq || 0);
  if (cur?.chatType === 'groupchat' && !mine) {
    const from = el('span', 'from small muted', item.from);
    from.setAttribute('translate', 'no');
    li.append(from);
  }
  const bubble = el('div', 'bubble');
  if (item.recalled) {
    li.classList.add('recalled');
    bubble.textContent = mine ? t('recalledByMe') : t('recalled');
    li.append(bubble);
    return li;
  }
  bubble.setAttribute('translate', 'no');
  fillBody(bubble, item);
  li.append(bubble);
  const meta = el('div', 'meta small muted');
  const time = el('time', '', new Date(item.ts).toLocaleTimeString(getLang() === 'zh' ? 'zh-CN' : 'en', { hour: '2-digit', minute: '2-digit' }));
  time.dateTime = new Date(item.ts).toISOString();
  time.setAttribute('translate', 'no');
  meta.append(time);
  if (item.edits) meta.append(el('span', '', t('edited')));
  if (mine) {
    meta.append(el('span', 'mark'));
    const r = el('button', 'link recall', t('recall'));
    r.type = 'button';
    r.addEventListener('click', () => client.recall(item.msg_id).catch((e) => showError('conv-error', e)));
    meta.append(r);
  }
  li.append(meta);
  if (mine) setMark(li);
  return li;
}

function fillBody(bubble, item) {
  const b = item.body || {};
  switch (item.type) {
    case 'txt':
      bubble.textContent = b.msg ?? '';
      break;
    case 'img': {
      const img = el('img', 'image');
      img.alt = b.filename || t('image');
      if (b.size?.width && b.size?.height) {
        img.width = Math.min(240, b.size.width);
        img.height = Math.round(img.width * b.size.height / b.size.width);
      }
      bubble.classList.add('media');
      bubble.append(img);
      objectURL(b.url, b.secret).then((u) => { img.src = u; }).catch(() => { img.alt = t('image'); });
      img.addEventListener('click', () => objectURL(b.url, b.secret).then((u) => window.open(u, '_blank', 'noopener')));
      break;
    }
    case 'file': case 'audio': case 'video': {
      const a = el('button', 'file link', `${b.filename || t(item.type === 'file' ? 'file' : item.type)}${b.file_length ? ' · ' + size(b.file_length) : ''}`);
      a.type = 'button';
      const icon = el('img', 'file-icon');
      icon.src = '/demo/icon-file.svg';
      icon.alt = '';
      a.prepend(icon);
      a.addEventListener('click', () => saveFile(b).catch((e) => showError('conv-error', e)));
      bubble.append(a);
      break;
    }
    default:
      bubble.textContent = summary(item);
  }
}

function size(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

async function objectURL(url, secret) {
  if (!blobURLs.has(url)) {
    blobURLs.set(url, client.files.download(url, { secret }).then((f) => URL.createObjectURL(new Blob([f.data], { type: f.contentType }))));
  }
  return blobURLs.get(url);
}

async function saveFile(b) {
  const f = await client.files.download(b.url, { secret: b.secret });
  const u = URL.createObjectURL(new Blob([f.data], { type: f.contentType }));
  const a = document.createElement('a');
  a.href = u;
  a.download = b.filename || 'file';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(u), 10000);
}

function markRecalled(target, by) {
  const s = shown.get(target);
  if (!s) return;
  s.item.recalled = true;
  const li = renderItem(s.item);
  s.li.replaceWith(li);
  s.li = li;
}

// setMark shows Sent, Delivered or Read on one of my 1:1 messages.
function setMark(li) {
  const mark = li.querySelector('.mark');
  if (!mark) return;
  const cv = cur?.conv ? convs.get(cur.conv) : null;
  const seq = Number(li.dataset.seq);
  if (cur?.chatType !== 'chat' || !cv || !seq) {
    mark.textContent = t('sent');
    li.dataset.mark = 'sent';
  } else if (seq <= cv.peer_read_seq) {
    mark.textContent = t('read');
    li.dataset.mark = 'read';
  } else if (seq <= cv.peer_delivered_seq) {
    mark.textContent = t('delivered');
    li.dataset.mark = 'delivered';
  } else {
    mark.textContent = t('sent');
    li.dataset.mark = 'sent';
  }
}

function updateMarks() {
  for (const li of $('msgs').querySelectorAll('.msg.mine')) setMark(li);
}

// ---- sending

async function sendBody(type, body) {
  const want = cur;
  const ack = await client.send({ to: want.peer, chatType: want.chatType, type, body });
  if (want === cur && !cur.conv && ack.conv_id) cur.conv = ack.conv_id;
  refreshSoon();
}

async function sendText(e) {
  e.preventDefault();
  const input = $('text');
  const text = input.value.trim();
  if (!text || !cur) return;
  input.value = '';
  try {
    await sendBody('txt', { msg: text });
  } catch (err) {
    input.value = text;
    showError('conv-error', err);
  }
}

async function sendUpload(input, kind) {
  const file = input.files?.[0];
  input.value = '';
  if (!file || !cur) return;
  const status = $('conv-error');
  try {
    const up = await client.files.upload(file, {
      filename: file.name,
      onProgress: (sent, total) => {
        status.hidden = false;
        status.classList.add('progress');
        status.textContent = t('uploading', { name: file.name, pct: total ? Math.round(sent * 100 / total) : 0 });
      },
    });
    status.classList.remove('progress');
    showError('conv-error', null);
    await sendBody(kind, kind === 'img' ? imageBody(up) : fileBody(up));
  } catch (err) {
    status.classList.remove('progress');
    showError('conv-error', err);
  }
}

// ---- start

function start() {
  apply(document);
  for (const b of document.querySelectorAll('[data-lang-toggle]')) {
    b.addEventListener('click', () => {
      setLang(getLang() === 'zh' ? 'en' : 'zh');
      renderConvs();
      renderHead();
      renderConn();
      if (cur) for (const s of shown.values()) { const li = renderItem(s.item); s.li.replaceWith(li); s.li = li; }
    });
  }
  const f = $('signin-form');
  const q = new URLSearchParams(location.search);
  const last = JSON.parse(localStorage.getItem('parley-demo:last') || '{}');
  f.elements.org.value = q.get('org') || last.org || '';
  f.elements.app.value = q.get('app') || last.app || '';
  f.elements.username.value = q.get('user') || last.username || '';
  const busy = (on) => { for (const b of f.querySelectorAll('button')) b.disabled = on; };
  f.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(true);
    signIn().catch((err) => showError('signin-error', err)).finally(() => busy(false));
  });
  $('signup').addEventListener('click', () => {
    busy(true);
    signUp().catch((err) => showError('signin-error', err)).finally(() => busy(false));
  });
  $('signout').addEventListener('click', signOut);
  $('back').addEventListener('click', () => { closeConv(); renderConvs(); });
  $('new-chat').addEventListener('click', () => { $('new-chat-form').hidden = !$('new-chat-form').hidden; $('new-group-form').hidden = true; });
  $('new-group').addEventListener('click', () => { $('new-group-form').hidden = !$('new-group-form').hidden; $('new-chat-form').hidden = true; });
  $('new-chat-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const peer = e.target.elements.peer.value.trim();
    if (!peer) return;
    e.target.reset();
    e.target.hidden = true;
    openConv('chat', peer).catch((err) => showError('side-error', err));
  });
  $('new-group-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const fm = e.target;
    const name = fm.elements.name.value.trim();
    const members = fm.elements.members.value.split(/[\s,，]+/).filter((u) => u && u !== me);
    try {
      showError('side-error', null);
      const g = await client.groups.create({ groupname: name, public: false }, members);
      groupNames.set(g.id, g.name || name);
      fm.reset();
      fm.hidden = true;
      await openConv('groupchat', g.id);
      refreshSoon();
    } catch (err) {
      showError('side-error', err);
    }
  });
  $('composer').addEventListener('submit', sendText);
  $('pick-image').addEventListener('change', (e) => sendUpload(e.target, 'img'));
  $('pick-file').addEventListener('change', (e) => sendUpload(e.target, 'file'));
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && cur?.conv && client) client.markRead(cur.conv).catch(() => {});
  });
  renderConn();
  $('signin').hidden = false;
}

start();
