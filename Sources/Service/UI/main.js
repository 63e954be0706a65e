// SignalForge web view: the experiments list and an experiment page (progress,
// live logs, events, resources, controls, bars with signals, equity). ES
// modules, no build step; this one starts the page and switches views.
import { api, forgetToken, probeScope, session, sessionEvents } from './api.js';
import { $, banner } from './dom.js';
import { CompareView } from './compare.js';
import { ExperimentView } from './experiment.js';
import { applyTheme, showScope, toggleTheme, watchSystem } from './header.js';
import { ListView } from './list.js';
import { showLogin } from './login.js';
import { SweepView, SweepsListView } from './sweeps.js';

let current = null;

function stopCurrent() {
  if (current) { current.stop(); current = null; }
}

function login(error) {
  stopCurrent();
  showLogin(error, () => { watchSystem(); route(); });
}

function parseHash() {
  const hash = location.hash || '#/';
  const q = hash.indexOf('?');
  const path = q < 0 ? hash.slice(1) : hash.slice(1, q);
  const params = new URLSearchParams(q < 0 ? '' : hash.slice(q + 1));
  return { path, params };
}

/** Shows the view the location names (#/, #/experiments/ID, #/sweeps, #/sweeps/ID, #/compare?ids=…). */
function route() {
  if (current) current.stop();
  const { path, params } = parseHash();
  const m = path.match(/^\/experiments\/([0-9a-fA-F-]{36})\/?$/);
  const sweep = path.match(/^\/sweeps\/([0-9a-fA-F-]{36})\/?$/);
  if (m) current = new ExperimentView(m[1].toLowerCase(), params);
  else if (sweep) current = new SweepView(sweep[1].toLowerCase(), params);
  else if (/^\/sweeps\/?$/.test(path)) current = new SweepsListView(params);
  else if (/^\/compare\/?$/.test(path)) current = new CompareView(params);
  else current = new ListView(params);
  $('#nav-experiments').classList.toggle('active', current instanceof ListView);
  $('#nav-sweeps').classList.toggle('active', current instanceof SweepsListView || current instanceof SweepView);
  $('#nav-compare').classList.toggle('active', current instanceof CompareView);
  const main = $('#main');
  main.textContent = '';
  main.appendChild(current.render());
  current.start();
}

sessionEvents.addEventListener('unauthorized', (e) => {
  login(session.token ? 'The server rejected the token: ' + e.detail : '');
});
sessionEvents.addEventListener('scope', () => {
  showScope();
  if (current && current.refreshControls) current.refreshControls();
});

async function boot() {
  applyTheme();
  $('#theme').addEventListener('click', () => toggleTheme(() => { if (current && current.redraw) current.redraw(); }));
  $('#signout').addEventListener('click', () => {
    forgetToken();
    login('');
  });
  window.addEventListener('hashchange', () => { if (current) route(); });
  try {
    await api('GET', '/v1/experiments?limit=1', { quiet401: true });
    session.open = !session.token;
  } catch (e) {
    if (e.status === 401) {
      const had = !!session.token;
      forgetToken();
      login(had ? 'The saved token is no longer accepted.' : '');
      return;
    }
    banner(e.message);
  }
  await probeScope();
  watchSystem();
  route();
}

// For the browser tests and the console: the session and the view on screen.
window.SignalForgeUI = { session, route, current: () => current };
boot();
