// The demo's two languages. English is the default; the choice is kept in
// localStorage. t(key, params) fills {name} placeholders.

const DICTS = {
  en: {
    title: 'Parley demo chat',
    intro: 'Chat through a Parley server with its TypeScript SDK. Enter the org and app (one created with --open-registration to sign up here).',
    org: 'Org', app: 'App', username: 'Username', password: 'Password',
    signIn: 'Sign in', signUp: 'Sign up',
    signUpHint: 'Sign up registers the username and password in this app, then signs in.',
    signOut: 'Sign out', lang: '中文',
    newChat: 'New chat', newGroup: 'New group', open: 'Open', create: 'Create',
    peerPlaceholder: 'Username to chat with', groupName: 'Group name', groupMembers: 'Members: bob, carol',
    noConvs: 'No conversations yet: start a new chat.', pickConv: 'Pick a conversation, or start a new chat.',
    back: '← Chats', earlier: 'Earlier messages', typeMessage: 'Type a message', send: 'Send', sendImage: 'Send an image', sendFile: 'Send a file',
    online: 'online', offline: 'offline', members: '{n} members', group: 'group',
    recall: 'Recall', recalled: 'Message recalled', recalledByMe: 'You recalled a message',
    sent: 'Sent', delivered: 'Delivered', read: 'Read', edited: '(edited)',
    image: '[Image]', file: '[File]', audio: '[Voice]', video: '[Video]', location: '[Location]', other: '[{type}]',
    notice: 'Group updated ({type})', you: 'You', uploading: 'Uploading {name}… {pct}%',
    connecting: 'Connecting…', connected: 'Connected', disconnected: 'Disconnected, reconnecting…',
    needOrgApp: 'Enter the org and app.',
  },
  zh: {
    title: 'Parley 演示聊天',
    intro: '通过 Parley 服务器及其 TypeScript SDK 聊天。填写组织和应用（要在这里注册，应用需以 --open-registration 创建）。',
    org: '组织', app: '应用', username: '用户名', password: '密码',
    signIn: '登录', signUp: '注册',
    signUpHint: '注册会在该应用中创建此用户名和密码，然后登录。',
    signOut: '退出', lang: 'English',
    newChat: '新聊天', newGroup: '新群组', open: '打开', create: '创建',
    peerPlaceholder: '对方用户名', groupName: '群组名称', groupMembers: '成员：bob, carol',
    noConvs: '还没有会话：开始一个新聊天吧。', pickConv: '选择一个会话，或开始新聊天。',
    back: '← 会话', earlier: '更早的消息', typeMessage: '输入消息', send: '发送', sendImage: '发送图片', sendFile: '发送文件',
    online: '在线', offline: '离线', members: '{n} 位成员', group: '群组',
    recall: '撤回', recalled: '消息已撤回', recalledByMe: '你撤回了一条消息',
    sent: '已发送', delivered: '已送达', read: '已读', edited: '（已编辑）',
    image: '[图片]', file: '[文件]', audio: '[语音]', video: '[视频]', location: '[位置]', other: '[{type}]',
    notice: '群组已更新（{type}）', you: '你', uploading: '正在上传 {name}… {pct}%',
    connecting: '正在连接…', connected: '已连接', disconnected: '连接断开，正在重连…',
    needOrgApp: '请填写组织和应用。',
  },
};

export const LANGS = Object.keys(DICTS);

// (Also imported by the tests in Node, where there is no localStorage.)
const store = globalThis.localStorage;
let lang = store?.getItem('parley-demo:lang') || (globalThis.navigator?.language?.startsWith('zh') ? 'zh' : 'en');
if (!DICTS[lang]) lang = 'en';

export function getLang() { return lang; }

export function setLang(l) {
  lang = DICTS[l] ? l : 'en';
  store?.setItem('parley-demo:lang', lang);
  apply(document);
}

export function t(key, params = {}) {
  const s = DICTS[lang][key] ?? DICTS.en[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
}

// apply fills data-i18n (text), data-i18n-placeholder and data-i18n-title.
export function apply(root) {
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  document.title = t('title');
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll('[data-i18n-title]')) {
    el.title = t(el.dataset.i18nTitle);
    el.setAttribute('aria-label', el.title);
  }
  for (const el of root.querySelectorAll('[data-lang-toggle]')) el.textContent = t('lang');
}

export function dictionary(l) { return DICTS[l]; }
