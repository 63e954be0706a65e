// The header: the token's scope badge, the server readout and the theme switch.
import { api, session } from './api.js';
import { $ } from './dom.js';
import { fmtMiB, fmtUptime } from './format.js';

const THEME_KEY = 'signalforge.theme';

/** The badge that says what the token may do. */
export function showScope() {
  const b = $('#scope');
  const out = $('#signout');
  out.hidden = !session.token;
  if (session.open && !session.token) {
    b.hidden = false;
    b.className = 'badge operate';
    b.textContent = 'no token needed';
    b.title = 'This server has no tokens: it listens on loopback only.';
    return;
  }
  if (!session.token) { b.hidden = true; return; }
  b.hidden = false;
  if (session.scope === 'read') {
    b.className = 'badge read';
    b.textContent = 'read-only token';
    b.title = session.scopeReason || 'This token can look but not control.';
  } else if (session.scope === 'operate') {
    b.className = 'badge operate';
    b.textContent = 'operate token';
    b.title = 'This token can pause, resume, cancel and retry.';
  } else if (session.scope === 'admin') {
    b.className = 'badge operate';
    b.textContent = 'admin token';
    b.title = 'This token can pause, resume, cancel, retry and delete.';
  } else {
    b.className = 'badge';
    b.textContent = 'token';
    b.title = '';
  }
}

// The server readout (`GET /v1/system`), refreshed every 10 s.
async function refreshSystem() {
  const el = $('#system');
  let s;
  try { s = await api('GET', '/v1/system', { quiet401: true }); } catch (_) { el.hidden = true; return; }
  const ex = s.experiments || {}, p = s.process || {}, d = s.data_dir || {}, host = s.host || {}, db = s.database || {};
  const parts = [];
  parts.push(ex.running === null || ex.running === undefined ? 'database down' : ex.running + ' running · ' + ex.queued + ' queued');
  parts.push('RSS ' + fmtMiB(p.rss_bytes || 0));
  if (d.free_bytes !== null && d.used_bytes !== null && d.used_bytes + d.free_bytes > 0) {
    parts.push('disk ' + Math.round(d.used_bytes / (d.used_bytes + d.free_bytes) * 100) + '% used');
  }
  if (host.load1 !== null && host.load1 !== undefined) parts.push('load ' + host.load1.toFixed(2));
  el.textContent = parts.join(' · ');
  el.className = 'sys' + (db.up ? '' : ' down') + ((s.logs && s.logs.spill_files > 0) ? ' spill' : '');
  el.title = [
    'instance ' + s.instance + ' (version ' + s.version + '), up ' + fmtUptime(s.uptime_seconds || 0),
    'process: RSS ' + fmtMiB(p.rss_bytes || 0) + ', CPU ' + (p.cpu_seconds || 0).toFixed(1) + ' s, ' + p.open_fds + ' open fds, ' + p.threads + ' threads',
    'data dir ' + d.path + ': ' + fmtMiB(d.used_bytes || 0) + ' used, ' + fmtMiB(d.free_bytes || 0) + ' free',
    'host: ' + fmtMiB(host.memory_available_bytes || 0) + ' available of ' + fmtMiB(host.memory_total_bytes || 0) +
      ', load ' + [host.load1, host.load5, host.load15].map((v) => (v === null || v === undefined) ? '–' : v.toFixed(2)).join(' '),
    'database ' + (db.up ? 'up' : 'DOWN') + ', pool ' + (db.pool ? db.pool.in_use + ' in use, ' + db.pool.waiting + ' waiting' : '–'),
    'experiments: ' + ex.running + ' running, ' + ex.queued + ' queued, ' + ex.paused + ' paused (' + ex.running_here + ' here)',
    'log spill files: ' + (s.logs ? s.logs.spill_files : '–'),
  ].join('\n');
  el.hidden = false;
}

let systemTimer = null;
/** Shows the server readout now and every 10 s. */
export function watchSystem() {
  refreshSystem();
  if (!systemTimer) systemTimer = setInterval(refreshSystem, 10000);
}

/** The theme the user picked (html[data-theme]); none: the system's. */
export function applyTheme() {
  const t = localStorage.getItem(THEME_KEY);
  if (t === 'dark' || t === 'light') document.documentElement.dataset.theme = t;
  else delete document.documentElement.dataset.theme;
}

/** Switches between light and dark; `redraw` repaints what reads colours when it draws (canvases). */
export function toggleTheme(redraw) {
  const picked = document.documentElement.dataset.theme;
  const dark = picked ? picked === 'dark' : matchMedia('(prefers-color-scheme: dark)').matches;
  localStorage.setItem(THEME_KEY, dark ? 'light' : 'dark');
  applyTheme();
  window.dispatchEvent(new Event('resize'));
  if (redraw) redraw();
}
