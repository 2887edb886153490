// The sign-in page: username and password, and the language switch.

import { post, setCsrf, ApiError } from '../api.js';
import { h } from '../dom.js';
import { t, setLang } from '../i18n.js';
import { errorNodes, busy } from '../ui.js';

export function render(view, { noticeKey, onSignedIn, fillLangPicker }) {
  const status = h('div', { class: 'form-status', 'aria-live': 'assertive' });
  const user = h('input', { id: 'signin-username', name: 'username', type: 'text', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
  const pass = h('input', { id: 'signin-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, t('signin.submit'));
  const langSel = h('select', { id: 'signin-lang', class: 'lang-picker' });
  fillLangPicker(langSel);
  langSel.addEventListener('change', () => setLang(langSel.value));

  const form = h('form', { class: 'form signin-form', 'aria-labelledby': 'signin-title' },
    h('div', { class: 'field' }, h('label', { for: 'signin-username' }, t('signin.username')), user),
    h('div', { class: 'field' }, h('label', { for: 'signin-password' }, t('signin.password')), pass),
    status, submit);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    status.replaceChildren();
    await busy(submit, async () => {
      try {
        const session = await post('/session', { username: user.value.trim(), password: pass.value });
        setCsrf(session.csrf);
        await onSignedIn(session);
      } catch (err) {
        pass.value = '';
        const nodes = err instanceof ApiError && (err.status === 400 || err.status === 401 || err.status === 403) && err.code !== 'csrf'
          ? [t('signin.failed')]
          : errorNodes(err);
        status.append(h('p', { class: 'alert alert-error', role: 'alert' }, nodes));
        pass.focus();
      }
    });
  });

  view.replaceChildren(h('div', { class: 'signin-card' },
    h('div', { class: 'signin-top' },
      h('p', { class: 'brand brand-large' }, t('app.title')),
      h('label', { class: 'picker' }, h('span', {}, t('shell.language')), langSel)),
    h('h1', { id: 'signin-title', tabindex: '-1' }, t('signin.title')),
    noticeKey ? h('p', { class: 'alert alert-info', dataset: { notice: noticeKey } }, t(noticeKey)) : null,
    form));
  user.focus();
}
