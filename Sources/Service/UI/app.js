// SignalForge web view: experiments list, experiment page (progress, live
// logs, events, resources, controls), candlestick chart with signals, equity.
// Plain JavaScript, no build step. Every API call carries the bearer token
// kept in sessionStorage.
'use strict';

(function () {
  const TOKEN_KEY = 'signalforge.token';
  const THEME_KEY = 'signalforge.theme';
  const STATUSES = ['queued', 'running', 'pausing', 'paused', 'cancelling', 'succeeded', 'failed', 'cancelled', 'interrupted'];
  const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);
  const ACTIVE = new Set(['running', 'pausing', 'cancelling']);
  // Which control each state allows (the server's lifecycle).
  const ALLOWED = {
    pause: new Set(['running']),
    resume: new Set(['paused', 'pausing']),
    cancel: new Set(['queued', 'interrupted', 'running', 'pausing', 'paused']),
    retry: new Set(['failed', 'cancelled', 'interrupted']),
  };

  // A link such as /ui/#token=… (printed by deploy/run.sh) hands over the
  // token once; the fragment never reaches the server, and is dropped here.
  // `&go=/experiments/ID` then opens that page.
  const handoff = /^#token=([^&]*)(?:&go=(\/[^#]*))?$/.exec(location.hash);
  if (handoff) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(handoff[1]));
    history.replaceState(null, '', location.pathname + '#' + (handoff[2] || '/'));
  }

  const session = {
    token: sessionStorage.getItem(TOKEN_KEY) || '',
    // 'operate' | 'read' | null (unknown)
    scope: null,
    scopeReason: '',
    open: false, // the server asks for no token
  };

  // ---------- DOM helpers ----------

  function h(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (k === 'dataset') Object.assign(e.dataset, v);
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      e.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
    }
    return e;
  }
  const $ = (sel, root) => (root || document).querySelector(sel);
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  function setText(e, text) { if (e && e.textContent !== text) e.textContent = text; }

  function pill(status, id) {
    return h('span', { class: 'pill s-' + status, id, dataset: { status } }, status);
  }
  function setPill(e, status) {
    if (!e || e.dataset.status === status) return;
    e.className = 'pill s-' + status;
    e.dataset.status = status;
    e.textContent = status;
  }
  function bar(status, percent, big) {
    const i = h('i');
    const b = h('div', { class: 'bar' + (big ? ' big' : '') + ' s-' + status, role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100' }, i);
    setBar(b, status, percent);
    return b;
  }
  function setBar(b, status, percent) {
    const p = Math.max(0, Math.min(100, Number(percent) || 0));
    b.className = b.className.replace(/\bs-[a-z]+\b/, '').trim() + ' s-' + status;
    b.firstChild.style.width = p.toFixed(1) + '%';
    b.setAttribute('aria-valuenow', p.toFixed(0));
    b.dataset.percent = p.toFixed(1);
  }

  let toastTimer = null;
  function toast(text) {
    const t = $('#toast');
    t.textContent = text;
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { t.hidden = true; }, 5000);
  }
  function banner(text) {
    const b = $('#banner');
    b.textContent = text || '';
    b.hidden = !text;
  }

  // ---------- time and number formatting ----------

  // RFC 3339 with up to microseconds (the API's form) to ms since the epoch.
  function T(iso) { return Date.parse(String(iso).replace(/(\.\d{3})\d+/, '$1')); }
  function fmtMs(ms) {
    if (ms === null || ms === undefined || !isFinite(ms)) return '–';
    if (ms < 1000) return Math.round(ms) + ' ms';
    return duration(0, ms);
  }

  function ago(iso) {
    if (!iso) return '–';
    const s = Math.max(0, (Date.now() - T(iso)) / 1000);
    if (s < 60) return Math.floor(s) + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' min';
    if (s < 86400) return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
    return Math.floor(s / 86400) + ' d';
  }
  // From one time to another (RFC 3339 strings or ms; no end: now).
  function duration(from, to) {
    if (from === null || from === undefined || from === '') return '–';
    const ms = (to === null || to === undefined ? Date.now() : typeof to === 'number' ? to : T(to)) - (typeof from === 'number' ? from : T(from));
    const s = Math.max(0, ms / 1000);
    if (s < 10) return s.toFixed(1) + ' s';
    if (s < 60) return Math.round(s) + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' min ' + Math.round(s % 60) + ' s';
    return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
  }
  function clock(iso) {
    if (!iso) return '–';
    const d = new Date(T(iso));
    return d.toLocaleTimeString([], { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0');
  }
  function dateTime(iso) {
    if (!iso) return '–';
    return new Date(T(iso)).toLocaleString([], { hour12: false });
  }
  function fmtCount(v) { return Number.isInteger(v) && Math.abs(v) < 10000 ? String(v) : window.SFChart.fmtCompact(v); }
  function pct(v) { return (Number(v) || 0).toFixed(Number(v) >= 99.95 || !v ? 0 : 1) + ' %'; }
  function num(v, d) { return v === null || v === undefined || !isFinite(v) ? '–' : Number(v).toFixed(d); }

  // ---------- API ----------

  class ApiError extends Error {
    constructor(status, problem) {
      super((problem && (problem.detail || problem.title)) || 'HTTP ' + status);
      this.status = status;
      this.problem = problem;
    }
  }

  function authHeaders(extra) {
    const hdr = Object.assign({}, extra || {});
    if (session.token) hdr.Authorization = 'Bearer ' + session.token;
    return hdr;
  }

  async function api(method, path, opts) {
    opts = opts || {};
    const headers = authHeaders(Object.assign({ Accept: 'application/json' }, opts.headers));
    let body;
    if (opts.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(opts.body);
    }
    let res;
    try {
      res = await fetch(path, { method, headers, body, signal: opts.signal, cache: 'no-store' });
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      throw new ApiError(0, { detail: 'the server is unreachable (' + e.message + ')' });
    }
    if (!res.ok) {
      let problem = null;
      try { problem = await res.json(); } catch (_) { /* not JSON */ }
      const err = new ApiError(res.status, problem);
      if (res.status === 401 && !opts.quiet401) tokenRejected(err.message);
      throw err;
    }
    if (opts.text) return res.text();
    if (res.status === 204) return null;
    return res.json();
  }

  // Asks the server what this token may do (`GET /v1/whoami`).
  async function probeScope() {
    try {
      const me = await api('GET', '/v1/whoami', { quiet401: true });
      if (me.scope === 'read') {
        session.scope = 'read';
        session.scopeReason = 'token \u2018' + me.name + '\u2019 has scope read: it can look but not control';
      } else {
        session.scope = 'operate';
      }
    } catch (e) {
      session.scope = null;
    }
    showScope();
  }

  // The header's server readout (`GET /v1/system`), refreshed every 10 s.
  function fmtMiB(bytes) { return window.SFChart.fmtCompact(bytes / 1048576) + ' MiB'; }
  function fmtUptime(s) {
    if (s < 3600) return Math.floor(s / 60) + ' min';
    if (s < 86400) return (s / 3600).toFixed(1) + ' h';
    return (s / 86400).toFixed(1) + ' d';
  }
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
  function watchSystem() {
    refreshSystem();
    if (!systemTimer) systemTimer = setInterval(refreshSystem, 10000);
  }

  function readOnly(reason) {
    session.scope = 'read';
    session.scopeReason = reason || session.scopeReason;
    showScope();
    if (current && current.refreshControls) current.refreshControls();
  }

  function showScope() {
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
    } else {
      b.className = 'badge';
      b.textContent = 'token';
      b.title = '';
    }
  }

  // ---------- token form ----------

  let current = null;

  function tokenRejected(reason) {
    if (current) { current.stop(); current = null; }
    showLogin(session.token ? 'The server rejected the token: ' + reason : '');
  }

  function showLogin(error) {
    if (current) { current.stop(); current = null; }
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
        sessionStorage.setItem(TOKEN_KEY, token);
        await probeScope();
        watchSystem();
        route();
      },
    }, input, h('button', { class: 'primary', type: 'submit' }, 'Open'), err);
    const main = $('#main');
    main.textContent = '';
    main.appendChild(h('section', { class: 'panel login' },
      h('h1', null, 'SignalForge'),
      h('p', { class: 'muted' }, 'Enter an API token. It is kept in this tab only (sessionStorage) and sent with every request. ' +
        'A read token sees everything; an operate token can also pause, resume, cancel and retry.'),
      form));
    showScope();
    input.focus();
  }

  // ---------- routing ----------

  function parseHash() {
    const hash = location.hash || '#/';
    const q = hash.indexOf('?');
    const path = q < 0 ? hash.slice(1) : hash.slice(1, q);
    const params = new URLSearchParams(q < 0 ? '' : hash.slice(q + 1));
    return { path, params };
  }

  function route() {
    if (current) current.stop();
    const { path, params } = parseHash();
    const m = path.match(/^\/experiments\/([0-9a-fA-F-]{36})\/?$/);
    current = m ? new ExperimentView(m[1].toLowerCase(), params) : new ListView(params);
    $('#nav-experiments').classList.toggle('active', !m);
    const main = $('#main');
    main.textContent = '';
    main.appendChild(current.render());
    current.start();
  }

  // A loop that calls fn every `ms` while running, never overlapping itself;
  // now() runs it at once (or right after the call in flight).
  class Poller {
    constructor(ms, fn) { this.ms = ms; this.fn = fn; this.timer = null; this.running = false; this.inFlight = false; this.again = false; }
    start() {
      if (this.running) return;
      this.running = true;
      this.run();
    }
    async run() {
      clearTimeout(this.timer);
      this.timer = null;
      if (!this.running) return;
      if (this.inFlight) { this.again = true; return; }
      this.inFlight = true;
      try { await this.fn(); } catch (e) { if (e && e.name !== 'AbortError') console.warn(e); }
      this.inFlight = false;
      if (!this.running) return;
      if (this.again) { this.again = false; this.run(); return; }
      this.timer = setTimeout(() => this.run(), this.ms);
    }
    stop() { this.running = false; this.again = false; clearTimeout(this.timer); }
    now() { if (this.running) this.run(); }
  }

  // ---------- experiments list ----------

  class ListView {
    constructor(params) {
      this.status = STATUSES.includes(params.get('status')) ? params.get('status') : '';
      this.limit = 50;
      this.rows = new Map();
      this.poller = new Poller(500, () => this.refresh());
    }

    render() {
      const chips = h('div', { class: 'chips', id: 'status-filter', role: 'tablist' },
        ['', ...STATUSES].map((s) => h('button', {
          type: 'button', class: 'chip' + (s === this.status ? ' on' : ''), dataset: { status: s || 'all' },
          onclick: () => { location.hash = s ? '#/?status=' + s : '#/'; },
        }, s || 'all')));
      this.tbody = h('tbody');
      this.live = h('span', { class: 'live', id: 'live' }, 'live');
      this.empty = h('p', { class: 'empty muted', hidden: true }, this.status ? 'No ' + this.status + ' experiments.' : 'No experiments yet. Start one with POST /v1/experiments or `signalforge experiments start`.');
      this.more = h('button', { type: 'button', onclick: () => { this.limit = Math.min(500, this.limit + 50); this.poller.now(); } }, 'Show more');
      return h('section', { class: 'panel' },
        h('div', { class: 'panel-head' }, h('h1', null, 'Experiments'), this.live, h('div', { class: 'tools' }, chips)),
        h('div', { class: 'table-wrap' },
          h('table', { class: 'grid', id: 'experiments' },
            h('colgroup', null, h('col'), h('col'), h('col'), h('col'), h('col', { class: 'progress' }), h('col'), h('col')),
            h('thead', null, h('tr', null,
              h('th', null, 'Experiment'), h('th', null, 'State'), h('th', null, 'Priority'), h('th', null, 'Stage'),
              h('th', null, 'Progress'), h('th', { class: 'num' }, 'Age'), h('th', { class: 'num' }, 'Duration'))),
            this.tbody)),
        this.empty,
        this.moreRow = h('div', { class: 'empty', hidden: true }, this.more));
    }

    start() { this.poller.start(); }
    stop() { this.poller.stop(); }

    async refresh() {
      const q = new URLSearchParams({ limit: String(this.limit) });
      if (this.status) q.set('status', this.status);
      let page;
      try {
        page = await api('GET', '/v1/experiments?' + q);
      } catch (e) {
        this.live.classList.add('stale');
        setText(this.live, 'stale: ' + e.message);
        return;
      }
      this.live.classList.remove('stale');
      setText(this.live, 'live');
      const seen = new Set();
      let prev = null;
      for (const e of page.items) {
        seen.add(e.id);
        let row = this.rows.get(e.id);
        if (!row) { row = this.makeRow(e); this.rows.set(e.id, row); }
        this.updateRow(row, e);
        const next = prev ? prev.tr.nextSibling : this.tbody.firstChild;
        if (next !== row.tr) this.tbody.insertBefore(row.tr, next);
        prev = row;
      }
      for (const [id, row] of this.rows) {
        if (!seen.has(id)) { row.tr.remove(); this.rows.delete(id); }
      }
      this.empty.hidden = page.items.length > 0;
      this.moreRow.hidden = !page.next_cursor || this.limit >= 500;
    }

    makeRow(e) {
      const href = '#/experiments/' + e.id;
      const r = {};
      r.name = h('a', { class: 'name', href });
      r.sub = h('span', { class: 'sub' }, e.id.slice(0, 8));
      r.pill = pill(e.status);
      r.prio = h('span', { class: 'prio' });
      r.stage = h('span');
      r.bar = bar(e.status, e.percent);
      r.pct = h('span', { class: 'pct' });
      r.age = h('td', { class: 'num' });
      r.dur = h('td', { class: 'num' });
      r.tr = h('tr', { class: 'link', dataset: { id: e.id }, onclick: (ev) => { if (ev.target.tagName !== 'A') location.hash = href; } },
        h('td', null, r.name, r.sub),
        h('td', null, r.pill),
        h('td', null, r.prio),
        h('td', null, r.stage),
        h('td', null, h('div', { class: 'progress-cell' }, r.bar, r.pct)),
        r.age, r.dur);
      return r;
    }

    updateRow(r, e) {
      r.tr.dataset.status = e.status;
      r.tr.dataset.percent = String(e.percent);
      setText(r.name, e.name);
      setPill(r.pill, e.status);
      r.pill.title = e.error || '';
      r.prio.className = 'prio ' + e.priority;
      setText(r.prio, e.priority);
      setText(r.stage, e.stage || '–');
      setBar(r.bar, e.status, e.percent);
      setText(r.pct, pct(e.percent));
      setText(r.age, ago(e.created_at));
      r.age.title = dateTime(e.created_at);
      setText(r.dur, e.started_at ? duration(e.started_at, e.finished_at) : '–');
    }
  }

  // ---------- live logs: SSE parsed from a streamed fetch ----------

  // EventSource cannot send Authorization; fetch can, and its body can be read
  // as it arrives. Reconnects with Last-Event-ID after a drop.
  class LogStream {
    constructor(id, handlers) {
      this.id = id;
      this.on = handlers;
      this.lastId = null;
      this.stopped = true;
      this.ended = false;
      this.controller = null;
    }

    start() {
      if (!this.stopped) return;
      this.stopped = false;
      this.ended = false;
      this.loop();
    }

    stop() {
      this.stopped = true;
      if (this.controller) this.controller.abort();
    }

    // Follows again after the stream ended (the experiment was retried).
    restart() {
      if (!this.ended) return;
      this.stopped = true;
      this.start();
    }

    async loop() {
      let backoff = 500;
      while (!this.stopped && !this.ended) {
        this.controller = new AbortController();
        const headers = authHeaders({ Accept: 'text/event-stream' });
        if (this.lastId !== null) headers['Last-Event-ID'] = this.lastId;
        try {
          const res = await fetch('/v1/experiments/' + this.id + '/logs?follow=true', {
            headers, signal: this.controller.signal, cache: 'no-store',
          });
          if (res.status === 401) { tokenRejected('logs: 401'); return; }
          if (!res.ok || !res.body) {
            let detail = 'HTTP ' + res.status;
            try { detail = (await res.json()).detail || detail; } catch (_) { /* not JSON */ }
            throw new Error(detail);
          }
          this.on.state('live');
          backoff = 500;
          const reader = res.body.getReader();
          const decoder = new TextDecoder();
          let buffer = '';
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buffer += decoder.decode(value, { stream: true });
            let cut;
            while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
              const block = buffer.slice(0, cut);
              buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, '');
              this.dispatch(block);
            }
          }
        } catch (e) {
          // stop() aborts on purpose; any other failure (a dropped connection) reconnects.
          if (this.stopped) return;
          this.on.state('reconnecting', e.message);
        }
        if (this.stopped || this.ended) return;
        this.on.state('reconnecting');
        await sleep(backoff);
        backoff = Math.min(5000, backoff * 2);
      }
    }

    dispatch(block) {
      let event = 'message', id = null;
      const data = [];
      for (const line of block.split(/\r?\n/)) {
        if (!line || line[0] === ':') continue;
        const c = line.indexOf(':');
        const field = c < 0 ? line : line.slice(0, c);
        let value = c < 0 ? '' : line.slice(c + 1);
        if (value[0] === ' ') value = value.slice(1);
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
        else if (field === 'id') id = value;
      }
      if (id !== null) this.lastId = id;
      let payload = null;
      try { payload = data.length ? JSON.parse(data.join('\n')) : null; } catch (_) { return; }
      if (event === 'log' && payload) this.on.line(payload);
      else if (event === 'end') {
        this.ended = true;
        this.on.state('ended', payload && payload.status);
      }
    }
  }

  // ---------- experiment page ----------

  class ExperimentView {
    constructor(id, params) {
      this.id = id;
      this.params = params;
      this.exp = null;
      this.nodes = new Map();
      this.eventsAfter = 0;
      this.metricsAfter = 0;
      this.metrics = [];
      this.logCount = 0;
      this.busy = false;
      this.chartLoadedFor = null;
      this.poll = new Poller(500, () => this.refresh());
      this.slowPoll = new Poller(1000, () => this.refreshSlow());
      this.logs = new LogStream(id, {
        line: (l) => this.addLog(l),
        state: (s, detail) => this.streamState(s, detail),
      });
    }

    render() {
      const base = '/v1/experiments/' + this.id;
      this.el = {};
      const E = this.el;
      E.name = h('h1', { id: 'exp-name' }, '…');
      E.status = pill('queued', 'status');
      E.prio = h('span', { class: 'prio' });
      E.buttons = {};
      const controls = h('div', { class: 'controls', id: 'controls' },
        ['pause', 'resume', 'cancel', 'retry'].map((a) => {
          const b = h('button', {
            type: 'button', id: 'btn-' + a, class: a === 'cancel' ? 'danger' : '', disabled: true, dataset: { action: a },
            onclick: () => this.control(a),
          }, { pause: '❚❚ Pause', resume: '▶ Resume', cancel: '■ Cancel', retry: '↻ Retry' }[a]);
          E.buttons[a] = b;
          return b;
        }));
      E.bar = bar('queued', 0, true);
      E.bar.id = 'exp-progress';
      E.pct = h('span', { class: 'pct', id: 'exp-percent' }, '0 %');
      E.facts = h('dl', { class: 'facts' });
      E.error = h('div', { class: 'error-box', id: 'exp-error', hidden: true });
      E.note = h('p', { class: 'note', id: 'control-note', hidden: true });

      E.tree = h('div', { class: 'tree', id: 'progress-tree' });
      E.sparks = {};
      const spark = (key, title) => {
        const canvas = h('canvas', { class: 'chart spark', id: 'metric-' + key });
        const tip = h('div', { class: 'tooltip', hidden: true });
        const value = h('b');
        E.sparks[key] = { value, chart: null, canvas, tip };
        return h('div', null, h('div', { class: 'spark-title' }, h('span', null, title), value), h('div', { class: 'chart-wrap' }, canvas, tip));
      };

      E.logs = h('div', { class: 'logs min-info', id: 'logs' }, h('div', { class: 'placeholder' }, 'Waiting for log lines…'));
      E.streamState = h('span', { class: 'stream-state', id: 'log-stream' }, 'connecting…');
      const level = h('select', { id: 'log-level', 'aria-label': 'Minimum level', onchange: () => { E.logs.className = 'logs min-' + level.value; } },
        ['debug', 'info', 'warning', 'error'].map((l) => h('option', { value: l, selected: l === 'info' }, l + (l === 'debug' ? ' and up' : '+'))));
      E.follow = h('input', { type: 'checkbox', checked: true });

      E.events = h('tbody');
      E.eventsEmpty = h('p', { class: 'muted empty' }, 'No events yet.');

      // Chart controls.
      E.symbol = h('select', { id: 'chart-symbol', 'aria-label': 'Symbol', onchange: () => this.loadChart(true) });
      E.timeframe = h('select', { id: 'chart-timeframe', 'aria-label': 'Timeframe', onchange: () => this.loadChart(true) });
      E.range = h('select', { id: 'chart-range', 'aria-label': 'Bars', onchange: () => this.loadChart(true) },
        [100, 200, 500, 1000, 5000].map((n) => h('option', { value: String(n), selected: n === 200 }, 'last ' + n + ' bars')));
      E.candles = h('canvas', { class: 'chart candles', id: 'candles', dataset: { state: 'empty' } });
      E.candleTip = h('div', { class: 'tooltip', id: 'candle-tooltip', hidden: true });
      E.chartMessage = h('div', { class: 'chart-message', id: 'chart-message' }, 'The chart appears once the merge stage has aligned the bars.');
      E.chartWrap = h('div', { class: 'chart-wrap', hidden: true }, E.candles, E.candleTip);
      E.chartSummary = h('span', { class: 'chart-summary', id: 'chart-summary' });

      E.equity = h('canvas', { class: 'chart equity', id: 'equity' });
      E.equityTip = h('div', { class: 'tooltip', hidden: true });
      E.equityLegend = h('div', { class: 'legend' });
      E.report = h('div', { id: 'report' }, h('p', { class: 'muted' }, 'The backtest report appears when the analysis stage has run.'));

      return h('div', { class: 'experiment', dataset: { id: this.id } },
        h('div', { class: 'crumbs' }, h('a', { href: '#/' }, 'Experiments'), ' / ', h('span', { class: 'mono' }, this.id)),
        h('section', { class: 'panel hero' },
          h('div', { class: 'hero-top' }, E.name, E.status, E.prio, controls),
          h('div', { class: 'hero-progress' }, E.bar, E.pct),
          E.facts, E.error, E.note),
        h('div', { class: 'grid2' },
          h('section', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', null, 'Progress')), E.tree),
          h('section', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', null, 'Resources'),
            h('div', { class: 'tools' }, h('a', { href: base + '/metrics', target: '_blank', class: 'muted' }, 'samples'))),
          h('div', { class: 'spark-grid' }, spark('rss', 'Memory (RSS)'), spark('cpu', 'CPU'), spark('rows', 'Rows per second')))),
        h('section', { class: 'panel' },
          h('div', { class: 'panel-head' }, h('h2', null, 'Logs'), E.streamState,
            h('div', { class: 'tools' }, h('label', null, 'Level', level), h('label', null, E.follow, 'Follow'))),
          E.logs),
        h('section', { class: 'panel', id: 'chart-panel' },
          h('div', { class: 'panel-head' }, h('h2', null, 'Bars and accepted signals'), E.chartSummary,
            h('div', { class: 'tools' }, E.symbol, E.timeframe, E.range)),
          E.chartMessage, E.chartWrap,
          h('div', { class: 'legend' },
            h('span', null, h('i', { class: 'up' }), 'up bar'), h('span', null, h('i', { class: 'down' }), 'down bar'),
            h('span', null, h('i', { class: 'accent' }), '▲ long / ▼ short entry'),
            h('span', null, h('i', { class: 'dash-down' }), 'stop'), h('span', null, h('i', { class: 'dash-up' }), 'target'),
            h('span', null, 'hover a marker for the quality and its six components'))),
        h('div', { class: 'grid2' },
          h('section', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', null, 'Equity')),
            h('div', { class: 'chart-wrap' }, E.equity, E.equityTip), E.equityLegend),
          h('section', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', null, 'Backtest')), E.report)),
        h('section', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', null, 'Events')),
          h('div', { class: 'table-wrap scroll' }, h('table', { class: 'grid', id: 'events' },
            h('thead', null, h('tr', null, h('th', null, 'Time'), h('th', null, 'Event'), h('th', null, 'Stage'),
              h('th', null, 'Transition'), h('th', { class: 'num' }, 'Duration'))), E.events)),
          E.eventsEmpty));
    }

    start() {
      this.poll.start();
      this.slowPoll.start();
      this.logs.start();
      this.candles = new window.SFChart.CandleChart(this.el.candles, this.el.candleTip);
      this.equity = new window.SFChart.LineChart(this.el.equity, this.el.equityTip, { empty: 'No equity curve yet' });
      const fmtBytes = (v) => window.SFChart.fmtCompact(v / 1048576) + ' MiB';
      const opts = {
        rss: { format: fmtBytes, compact: true, clock: true, area: true },
        cpu: { format: (v) => window.SFChart.fmtCompact(v) + ' %', compact: true, clock: true, area: true, zero: true },
        rows: { format: window.SFChart.fmtCompact, compact: true, clock: true, area: true, zero: true },
      };
      for (const k of Object.keys(this.el.sparks)) {
        const s = this.el.sparks[k];
        s.chart = new window.SFChart.LineChart(s.canvas, s.tip, Object.assign({ empty: 'No samples yet (one every 2 s while it runs)' }, opts[k]));
        s.chart.setData([]);
      }
      this.refreshControls();
    }

    stop() {
      this.poll.stop();
      this.slowPoll.stop();
      this.logs.stop();
    }

    // The experiment and its progress tree, every 500 ms.
    async refresh() {
      let exp;
      try {
        exp = await api('GET', '/v1/experiments/' + this.id);
      } catch (e) {
        if (e.status === 404) {
          this.stop();
          const main = $('#main');
          main.textContent = '';
          main.appendChild(h('section', { class: 'panel' }, h('h1', null, 'Not found'),
            h('p', { class: 'muted' }, e.message), h('a', { href: '#/' }, '← all experiments')));
        } else {
          banner(e.message);
        }
        return;
      }
      banner('');
      const before = this.exp ? this.exp.status : null;
      this.exp = exp;
      this.showExperiment(exp);
      let tree = null;
      try { tree = await api('GET', '/v1/experiments/' + this.id + '/progress'); } catch (_) { /* shown next time */ }
      if (tree) this.showTree(tree);
      if (before !== exp.status) this.statusChanged(before, exp.status);
      else if (exp.stage !== this.lastStage && !this.chartLoadedFor) this.loadChart(false);
      this.lastStage = exp.stage;
      // Finished: the page is complete; look again every few seconds (someone may retry it).
      this.poll.ms = TERMINAL.has(exp.status) ? 3000 : 500;
    }

    async refreshSlow() {
      await Promise.all([this.loadEvents(), this.loadMetrics()]);
      if (this.exp && TERMINAL.has(this.exp.status)) this.slowPoll.ms = 5000;
      else this.slowPoll.ms = 1000;
    }

    statusChanged(before, now) {
      if (!TERMINAL.has(now)) this.logs.restart();
      if (before === null || TERMINAL.has(now) || ACTIVE.has(now) !== ACTIVE.has(before || '')) {
        this.slowPoll.ms = 1000;
        this.slowPoll.now();
      }
      if (before === null) this.fillChartOptions();
      if (TERMINAL.has(now) || before === null || now === 'paused') {
        this.loadChart(false);
        this.loadResults();
      }
    }

    showExperiment(e) {
      const E = this.el;
      document.title = e.name + ' · SignalForge';
      setText(E.name, e.name);
      setPill(E.status, e.status);
      E.prio.className = 'prio ' + e.priority;
      setText(E.prio, e.priority + ' priority');
      setBar(E.bar, e.status, e.percent);
      setText(E.pct, pct(e.percent));
      const req = e.request || {};
      const facts = [
        ['Stage', e.stage || '–'],
        ['Created', dateTime(e.created_at)],
        ['Started', dateTime(e.started_at)],
        ['Finished', dateTime(e.finished_at)],
        ['Duration', e.started_at ? duration(e.started_at, e.finished_at) : '–'],
        ['Symbols', (req.datasets || []).map((d) => d.symbol).join(', ') || '–'],
        ['Timeframes', (req.timeframes || []).join(', ') || '–'],
        ['Stages', String((req.stages || []).length)],
      ];
      if (!E.factCells) {
        E.factCells = facts.map(([k]) => {
          const dd = h('dd');
          E.facts.appendChild(h('div', null, h('dt', null, k), dd));
          return dd;
        });
      }
      facts.forEach(([, v], i) => { setText(E.factCells[i], v); E.factCells[i].title = v; });
      E.error.hidden = !e.error;
      setText(E.error, e.error || '');
      this.refreshControls();
    }

    refreshControls() {
      const E = this.el;
      if (!E || !E.buttons) return;
      const status = this.exp ? this.exp.status : null;
      const ro = session.scope === 'read';
      for (const [a, b] of Object.entries(E.buttons)) {
        const allowed = !!status && ALLOWED[a].has(status);
        b.disabled = ro || this.busy || !allowed;
        b.dataset.allowed = String(allowed);
        b.title = ro ? 'Needs a token with scope operate' : allowed ? '' : 'Not possible while ' + status;
      }
      E.note.hidden = !ro;
      setText(E.note, ro ? 'Read-only: ' + (session.scopeReason || 'this token cannot control experiments') + '.' : '');
    }

    async control(action) {
      if (this.busy) return;
      this.busy = true;
      this.refreshControls();
      try {
        const e = await api('POST', '/v1/experiments/' + this.id + '/' + action);
        const before = this.exp ? this.exp.status : null;
        this.exp = e;
        this.showExperiment(e);
        if (before !== e.status) this.statusChanged(before, e.status);
        toast(action + ': ' + e.status);
      } catch (e) {
        if (e.status === 403) readOnly(e.message);
        else toast(action + ' refused: ' + e.message);
      } finally {
        this.busy = false;
        this.refreshControls();
        this.poll.now();
      }
    }

    showTree(root) {
      const E = this.el;
      const order = [];
      const walk = (n, depth) => {
        order.push([n, depth]);
        for (const c of n.children || []) walk(c, depth + 1);
      };
      if (root) {
        // Stages in the experiment's order (stored trees come sorted by path).
        const stages = (this.exp && this.exp.request && this.exp.request.stages) || [];
        const rank = (n) => { const i = stages.indexOf(n.name); return i < 0 ? stages.length : i; };
        root = Object.assign({}, root, { children: (root.children || []).slice().sort((a, b) => rank(a) - rank(b)) });
        walk(root, 0);
      }
      const seen = new Set();
      let prev = null;
      for (const [n, depth] of order) {
        seen.add(n.path);
        let r = this.nodes.get(n.path);
        if (!r) {
          r = {
            label: h('span', { class: 'label' }),
            pill: pill(n.status),
            bar: bar(n.status, n.percent || 0),
            pct: h('span', { class: 'pct' }),
            meta: h('span', { class: 'meta' }),
          };
          r.row = h('div', { class: 'node k-' + n.kind + ' d' + Math.min(depth, 4), dataset: { path: n.path } },
            r.label, r.pill, r.bar, r.pct, r.meta);
          this.nodes.set(n.path, r);
        }
        const status = n.status;
        r.row.dataset.status = status;
        r.row.dataset.percent = (n.percent || 0).toFixed(1);
        setText(r.label, n.name);
        r.label.title = n.path;
        setPill(r.pill, status);
        setBar(r.bar, status === 'running' && this.exp && this.exp.status === 'paused' ? 'paused' : status, n.percent || 0);
        setText(r.pct, pct(n.percent));
        const meta = [];
        if (n.units_total !== null && n.units_total !== undefined) meta.push(fmtCount(n.units_done) + ' / ' + fmtCount(n.units_total));
        else if (n.units_done) meta.push(fmtCount(n.units_done));
        if (n.rate && status === 'running') meta.push(window.SFChart.fmtCompact(n.rate) + '/s');
        if (n.eta_seconds !== null && n.eta_seconds !== undefined && status === 'running') meta.push('eta ' + Math.ceil(n.eta_seconds) + ' s');
        setText(r.meta, meta.join(' · '));
        const next = prev ? prev.row.nextSibling : E.tree.firstChild;
        if (next !== r.row) E.tree.insertBefore(r.row, next);
        prev = r;
      }
      for (const [path, r] of this.nodes) if (!seen.has(path)) { r.row.remove(); this.nodes.delete(path); }
    }

    addLog(l) {
      const E = this.el;
      if (this.logCount === 0) E.logs.textContent = '';
      this.logCount++;
      const atBottom = E.logs.scrollHeight - E.logs.scrollTop - E.logs.clientHeight < 40;
      const fields = l.fields && typeof l.fields === 'object'
        ? Object.entries(l.fields).map(([k, v]) => k + '=' + (typeof v === 'string' ? v : JSON.stringify(v))).join(' ') : '';
      E.logs.appendChild(h('div', { class: 'line lvl-' + l.level, dataset: { id: String(l.id) } },
        h('time', { datetime: l.ts, title: l.ts }, clock(l.ts)),
        h('span', { class: 'lvl' }, l.level),
        h('span', { class: 'stg' }, l.stage || ''),
        h('span', { class: 'msg' }, l.message, fields ? h('span', { class: 'fields' }, '  ' + fields) : null)));
      while (E.logs.childElementCount > 5000) E.logs.firstElementChild.remove();
      E.logs.dataset.count = String(this.logCount);
      if (E.follow.checked && atBottom) E.logs.scrollTop = E.logs.scrollHeight;
    }

    streamState(state, detail) {
      const s = this.el.streamState;
      s.className = 'stream-state' + (state === 'live' ? ' live' : '');
      s.dataset.state = state;
      if (state === 'live') s.textContent = '● live';
      else if (state === 'ended') s.textContent = 'ended (' + (detail || 'finished') + ')';
      else s.textContent = 'reconnecting…' + (detail ? ' ' + detail : '');
    }

    async loadEvents() {
      let page;
      do {
        page = await api('GET', '/v1/experiments/' + this.id + '/events?limit=1000&after=' + this.eventsAfter);
        for (const ev of page.items) {
          this.eventsAfter = Math.max(this.eventsAfter, ev.id);
          const transition = ev.from_status || ev.to_status ? (ev.from_status || '·') + ' → ' + (ev.to_status || '·') : '';
          this.el.events.insertBefore(h('tr', { dataset: { id: String(ev.id), kind: ev.kind } },
            h('td', { title: ev.ts }, clock(ev.ts)),
            h('td', null, h('span', { class: 'mono' }, ev.kind)),
            h('td', null, ev.stage || '–'),
            h('td', null, transition),
            h('td', { class: 'num' }, fmtMs(ev.duration_ms))),
          this.el.events.firstChild);
        }
      } while (page.next_cursor);
      this.el.eventsEmpty.hidden = this.el.events.childElementCount > 0;
    }

    async loadMetrics() {
      let page, added = false;
      do {
        page = await api('GET', '/v1/experiments/' + this.id + '/metrics?limit=5000&after=' + this.metricsAfter);
        for (const m of page.items) { this.metrics.push(m); this.metricsAfter = Math.max(this.metricsAfter, m.id); added = true; }
      } while (page.next_cursor);
      const finished = this.exp && TERMINAL.has(this.exp.status);
      if (!added && this.metricsDrawn === (finished ? 'final' : 'live')) return;
      this.metricsDrawn = finished ? 'final' : 'live';
      const series = (key, name) => [{ name, points: this.metrics.map((m) => [T(m.ts), m[key]]) }];
      const S = this.el.sparks;
      const empty = finished ? 'No samples: the run was shorter than the 2 s sampling interval' : 'No samples yet (one every 2 s while it runs)';
      for (const s of Object.values(S)) s.chart.opts.empty = empty;
      S.rss.chart.setData(series('rss_bytes', 'RSS'));
      S.cpu.chart.setData(series('cpu_percent', 'CPU'));
      S.rows.chart.setData(series('rows_per_second', 'rows/s'));
      const last = (key) => { for (let i = this.metrics.length - 1; i >= 0; i--) if (this.metrics[i][key] !== null) return this.metrics[i][key]; return null; };
      const rss = last('rss_bytes'), cpu = last('cpu_percent'), rows = last('rows_per_second');
      setText(S.rss.value, rss === null ? '–' : window.SFChart.fmtCompact(rss / 1048576) + ' MiB');
      setText(S.cpu.value, cpu === null ? '–' : num(cpu, 1) + ' %');
      setText(S.rows.value, rows === null ? '–' : window.SFChart.fmtCompact(rows));
    }

    // ----- chart -----

    fillChartOptions() {
      const req = (this.exp && this.exp.request) || {};
      const E = this.el;
      const symbols = (req.datasets || []).map((d) => d.symbol);
      const order = ['1m', '5m', '15m', '30m', '1h', '4h', '1d', '1w', '1M'];
      const tfs = (req.timeframes || []).slice().sort((a, b) => order.indexOf(a) - order.indexOf(b));
      E.symbol.textContent = '';
      for (const s of symbols) E.symbol.appendChild(h('option', { value: s, selected: s === this.params.get('symbol') }, s));
      E.timeframe.textContent = '';
      const wantTf = this.params.get('timeframe') || (tfs.includes('1h') ? '1h' : tfs[tfs.length - 1]);
      for (const t of tfs) E.timeframe.appendChild(h('option', { value: t, selected: t === wantTf }, t));
      if (this.params.get('bars')) {
        const n = this.params.get('bars');
        if (![...E.range.options].some((o) => o.value === n)) E.range.appendChild(h('option', { value: n }, 'last ' + n + ' bars'));
        E.range.value = n;
      }
    }

    async loadChart(force) {
      const E = this.el;
      const symbol = E.symbol.value, tf = E.timeframe.value, limit = E.range.value;
      if (!symbol || !tf) return;
      const key = symbol + '|' + tf + '|' + limit;
      if (!force && this.chartLoadedFor === key) return;
      const seq = (this.chartSeq = (this.chartSeq || 0) + 1);
      E.candles.dataset.state = 'loading';
      const base = '/v1/experiments/' + this.id;
      let bars;
      try {
        bars = await api('GET', base + '/bars?' + new URLSearchParams({ symbol, timeframe: tf, limit }));
      } catch (e) {
        if (seq !== this.chartSeq) return;
        E.chartWrap.hidden = true;
        E.chartMessage.hidden = false;
        E.chartMessage.textContent = e.status === 404 ? 'No bars to draw yet: ' + e.message : e.message;
        E.candles.dataset.state = 'empty';
        setText(E.chartSummary, '');
        return;
      }
      let signals = [];
      if (bars.count > 0) {
        const q = new URLSearchParams({
          accepted: 'true', symbol, timeframe: tf, limit: '5000',
          from: String(bars.timestamps[0]), to: String(bars.timestamps[bars.count - 1]),
        });
        try {
          let page;
          let after = '';
          do {
            if (after) q.set('after', after);
            page = await api('GET', base + '/signals?' + q);
            signals = signals.concat(page.items);
            after = page.next_cursor;
          } while (after);
        } catch (e) {
          signals = [];
        }
      }
      if (seq !== this.chartSeq) return;
      this.chartLoadedFor = key;
      E.chartMessage.hidden = true;
      E.chartWrap.hidden = false;
      E.candles.dataset.symbol = symbol;
      E.candles.dataset.timeframe = tf;
      this.candles.setData(bars, signals);
      const longs = signals.filter((s) => s.direction === 'long').length;
      setText(E.chartSummary, bars.count + ' bars' + (bars.truncated ? ' (latest)' : '') + ' · ' + signals.length +
        ' accepted signals (' + longs + ' long, ' + (signals.length - longs) + ' short)');
      this.equityHighlight(symbol, tf);
    }

    async loadResults() {
      const base = '/v1/experiments/' + this.id;
      let report = null;
      try { report = await api('GET', base + '/report'); } catch (_) { report = null; }
      if (report) this.showReport(report);
      let csv = null;
      try { csv = await api('GET', base + '/artifacts/equity.csv', { text: true, headers: { Accept: 'text/csv' } }); } catch (_) { csv = null; }
      if (csv) this.showEquity(csv);
    }

    showReport(r) {
      const E = this.el;
      E.report.textContent = '';
      const b = r.backtest || {};
      const s = b.summary || {};
      const cls = (v) => (v > 0 ? 'pos' : v < 0 ? 'neg' : '');
      const stat = (k, v, c, sub) => h('div', { class: 'stat' }, h('dt', null, k), h('dd', { class: c || '' }, v, sub ? h('small', null, sub) : null));
      E.report.appendChild(h('dl', { class: 'stats' },
        stat('Accepted', r.signals ? String(r.signals.accepted) : '–', '', r.signals ? 'of ' + r.signals.candidates : null),
        stat('Trades', String(s.trades ?? '–')),
        stat('Win rate', s.win_rate === null || s.win_rate === undefined ? '–' : num(s.win_rate * 100, 1) + ' %'),
        stat('Profit factor', num(s.profit_factor, 2)),
        stat('Sharpe', num(s.sharpe, 2), cls(s.sharpe)),
        stat('Max drawdown', s.max_drawdown === null || s.max_drawdown === undefined ? '–' : num(s.max_drawdown * 100, 1) + ' %', 'neg'),
        stat('Return', s.total_return === null || s.total_return === undefined ? '–' : num(s.total_return * 100, 2) + ' %', cls(s.total_return)),
        stat('Exposure', s.exposure === null || s.exposure === undefined ? '–' : num(s.exposure * 100, 1) + ' %')));
      const ev = r.evaluation && r.evaluation.overall;
      if (ev) {
        // Issue 13: the verdict, accepted vs rejected, the random-entry baseline, calibration bins.
        const acc = ev.accepted || {}, rej = ev.rejected || {}, rnd = (ev.baselines || {}).random_entries || {};
        E.report.appendChild(h('p', { class: ev.verdict === 'edge' ? 'pos' : 'muted' }, 'Evaluation: ' + ev.verdict + ' — ' + ev.reason));
        E.report.appendChild(h('dl', { class: 'stats' },
          stat('Accepted mean R', num(acc.mean_r, 2), cls(acc.mean_r), (acc.count ?? 0) + ' resolved'),
          stat('Rejected mean R', num(rej.mean_r, 2), cls(rej.mean_r), (rej.count ?? 0) + ' resolved'),
          stat('p (random entries)', num(rnd.p_value, 3), '', (rnd.runs ?? 0) + ' runs'),
          stat('Deflated Sharpe', num(ev.deflated_sharpe, 2))));
        const bins = (ev.calibration || {}).bins || [];
        if (bins.length) {
          E.report.appendChild(h('div', { class: 'table-wrap' }, h('table', { class: 'grid' },
            h('thead', null, h('tr', null, h('th', null, 'Quality'), h('th', { class: 'num' }, 'Count'), h('th', { class: 'num' }, 'Predicted'),
              h('th', { class: 'num' }, 'Realized'), h('th', { class: 'num' }, 'Mean R'))),
            h('tbody', null, bins.map((x) => h('tr', null, h('td', null, num(x.lower, 1) + '–' + num(x.upper, 1)),
              h('td', { class: 'num' }, String(x.count)), h('td', { class: 'num' }, num(x.predicted, 3)),
              h('td', { class: 'num' }, num(x.realized, 3)), h('td', { class: 'num ' + cls(x.mean_r) }, num(x.mean_r, 2))))))));
        }
      }
      const results = b.results || [];
      if (results.length) {
        E.report.appendChild(h('div', { class: 'table-wrap' }, h('table', { class: 'grid' },
          h('thead', null, h('tr', null, h('th', null, 'Symbol'), h('th', null, 'TF'), h('th', { class: 'num' }, 'Trades'),
            h('th', { class: 'num' }, 'Win'), h('th', { class: 'num' }, 'PF'), h('th', { class: 'num' }, 'Sharpe'), h('th', { class: 'num' }, 'Return'))),
          h('tbody', null, results.map((x) => {
            const m = x.metrics || {};
            return h('tr', null, h('td', null, x.symbol), h('td', null, x.timeframe), h('td', { class: 'num' }, String(m.trades ?? '–')),
              h('td', { class: 'num' }, m.win_rate === null || m.win_rate === undefined ? '–' : num(m.win_rate * 100, 0) + ' %'),
              h('td', { class: 'num' }, num(m.profit_factor, 2)), h('td', { class: 'num' }, num(m.sharpe, 2)),
              h('td', { class: 'num ' + cls(m.total_return) }, m.total_return === null || m.total_return === undefined ? '–' : num(m.total_return * 100, 2) + ' %'));
          })))));
      }
    }

    showEquity(csv) {
      const lines = csv.split(/\r?\n/).filter((l) => l.length);
      if (lines.length < 2) return;
      const head = lines[0].split(',');
      const col = (n) => head.indexOf(n);
      const iS = col('symbol'), iT = col('timeframe'), iTs = col('timestamp'), iE = col('equity');
      if (iTs < 0 || iE < 0) return;
      const groups = new Map();
      for (const line of lines.slice(1)) {
        const f = line.split(',');
        const name = (iS >= 0 ? f[iS] : '') + (iT >= 0 ? ' · ' + f[iT] : '');
        const raw = f[iTs];
        const t = /^\d+$/.test(raw) ? Number(raw) / 1000 : T(raw);
        const v = Number(f[iE]);
        if (!groups.has(name)) groups.set(name, []);
        groups.get(name).push([t, isFinite(v) ? v : null]);
      }
      this.equitySeries = [...groups].map(([name, points]) => ({ name, points }));
      const c = getComputedStyle(document.documentElement);
      const colors = ['--accent', '--up', '--warn', '--s-interrupted', '--down', '--s-cancelling', '--muted'].map((n) => c.getPropertyValue(n).trim());
      this.equitySeries.forEach((s, i) => { s.color = colors[i % colors.length]; });
      const legend = this.el.equityLegend;
      legend.textContent = '';
      for (const s of this.equitySeries) {
        const i = h('i');
        i.style.background = s.color;
        legend.appendChild(h('span', null, i, s.name));
      }
      this.el.equity.dataset.series = String(this.equitySeries.length);
      this.equityHighlight(this.el.symbol.value, this.el.timeframe.value);
    }

    equityHighlight(symbol, tf) {
      if (!this.equitySeries) return;
      const name = symbol + ' · ' + tf;
      this.equity.opts.highlight = this.equitySeries.some((s) => s.name === name) ? name : null;
      this.equity.setData(this.equitySeries);
    }
  }

  // ---------- theme and start ----------

  function applyTheme() {
    const t = localStorage.getItem(THEME_KEY);
    if (t === 'dark' || t === 'light') document.documentElement.dataset.theme = t;
    else delete document.documentElement.dataset.theme;
  }

  function toggleTheme() {
    const dark = getComputedStyle(document.documentElement).colorScheme.includes('dark');
    localStorage.setItem(THEME_KEY, dark ? 'light' : 'dark');
    applyTheme();
    // Canvases read the colours when they draw.
    window.dispatchEvent(new Event('resize'));
    if (current && current.candles) { current.candles.draw(); current.equity.draw(); for (const s of Object.values(current.el.sparks)) s.chart.draw(); }
  }

  async function boot() {
    applyTheme();
    $('#theme').addEventListener('click', toggleTheme);
    $('#signout').addEventListener('click', () => {
      sessionStorage.removeItem(TOKEN_KEY);
      session.token = '';
      session.scope = null;
      showLogin('');
    });
    window.addEventListener('hashchange', () => { if (current) route(); });
    try {
      await api('GET', '/v1/experiments?limit=1', { quiet401: true });
      session.open = !session.token;
    } catch (e) {
      if (e.status === 401) {
        const had = !!session.token;
        session.token = '';
        sessionStorage.removeItem(TOKEN_KEY);
        showLogin(had ? 'The saved token is no longer accepted.' : '');
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
})();
