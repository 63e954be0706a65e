// The token form: shown when there is no token or the server rejected it.
import { api, probeScope, saveToken, session } from './api.js';
import { $, h } from './dom.js';
import { showScope } from './header.js';

/** Replaces the page with the token form; `signedIn` runs once the server accepted a token. */
export function showLogin(error, signedIn) {
  const input = h('input', {
    id: 'token-input', type: 'password', autocomplete: 'off', spellcheck: 'false',
    placeholder: 'sf_…', 'aria-label': 'API token', required: true,
  });
  const err = h('p', { class: 'error', id: 'token-error' }, error || '');
  const form = h('form', {
    id: 'token-form',
    onsubmit: async (e) => {
      e.preventDefault();
      const token = input.value.trim();
      if (!token) return;
      session.token = token;
      try {
        await api('GET', '/v1/experiments?limit=1', { quiet401: true });
      } catch (x) {
        session.token = '';
        err.textContent = x.status === 401 ? 'The server does not accept this token.' : x.message;
        return;
      }
      saveToken(token);
      await probeScope();
      signedIn();
    },
  }, input, h('button', { class: 'primary', type: 'submit' }, 'Open'), err);
  const main = $('#main');
  main.textContent = '';
  main.appendChild(h('section', { class: 'panel login' },
    h('h1', null, 'SignalForge'),
    h('p', { class: 'muted' }, 'Enter an API token. It is kept in this tab only (sessionStorage) and sent with every request. ' +
      'A read token sees everything; an operate token can also pause, resume, cancel and retry; an admin token can also delete.'),
    form));
  showScope();
  input.focus();
}
