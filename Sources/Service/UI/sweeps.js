// Sweeps: the list, and a sweep's page (live progress, controls, delete for
// admin tokens, the leaderboard, from which points can be picked for the
// compare page).
import { api, may } from './api.js';
import { Poller, bar, confirmDialog, h, pill, setBar, setPill, setText, toast } from './dom.js';
import { ago, dateTime, fmtNum, pct } from './format.js';

const METRICS = ['deflated_sharpe', 'sharpe', 'total_return', 'trades', 'p_value'];
const num = (v, d) => (v === null || v === undefined ? '–' : fmtNum(v, d));
const percent = (v) => (v === null || v === undefined ? '–' : fmtNum(v * 100, 2) + ' %');
/** A sweep's state on the experiments' colour scale. */
const tone = (state) => ({ running: 'running', paused: 'paused', cancelled: 'cancelled', finished: 'succeeded' }[state] || state);
/** Children in these states may still run: deleting the sweep cancels them first. */
const ACTIVE = ['queued', 'running', 'pausing', 'paused', 'cancelling'];

export class SweepsListView {
  constructor() { this.poller = new Poller(1000, () => this.refresh()); }

  render() {
    this.tbody = h('tbody');
    this.live = h('span', { class: 'live' }, 'live');
    this.empty = h('p', { class: 'empty muted', hidden: true }, 'No sweeps yet. Start one with POST /v1/sweeps or `signalforge sweeps start`.');
    return h('section', { class: 'panel' },
      h('div', { class: 'panel-head' }, h('h1', null, 'Sweeps'), this.live),
      h('div', { class: 'table-wrap' },
        h('table', { class: 'grid', id: 'sweeps' },
          h('thead', null, h('tr', null,
            h('th', null, 'Sweep'), h('th', null, 'State'), h('th', null, 'Mode'), h('th', null, 'Progress'),
            h('th', { class: 'num' }, 'Points'), h('th', { class: 'num' }, 'Age'))),
          this.tbody)),
      this.empty);
  }

  start() { this.poller.start(); }
  stop() { this.poller.stop(); }

  async refresh() {
    let page;
    try { page = await api('GET', '/v1/sweeps?limit=100'); } catch (e) { setText(this.live, 'stale: ' + e.message); return; }
    setText(this.live, 'live');
    this.tbody.textContent = '';
    for (const s of page.items) {
      const href = '#/sweeps/' + s.id;
      const done = s.count ? (100 * s.finished) / s.count : 0;
      this.tbody.appendChild(h('tr', { class: 'link', dataset: { id: s.id, state: s.state }, onclick: () => { location.hash = href; } },
        h('td', null, h('a', { class: 'name', href }, s.name), h('span', { class: 'sub' }, s.id.slice(0, 8))),
        h('td', null, pill(tone(s.state))),
        h('td', null, s.mode),
        h('td', null, h('div', { class: 'progress-cell' }, bar(tone(s.state), done), h('span', { class: 'pct' }, pct(done)))),
        h('td', { class: 'num' }, s.finished + '/' + s.count),
        h('td', { class: 'num', title: dateTime(s.created_at) }, ago(s.created_at))));
    }
    this.empty.hidden = page.items.length > 0;
  }
}

export class SweepView {
  constructor(id, params) {
    this.id = id;
    this.metric = METRICS.includes(params.get('metric')) ? params.get('metric') : 'deflated_sharpe';
    this.picked = new Set();
    this.poller = new Poller(1000, () => this.refresh());
  }

  render() {
    this.title = h('h1', null, 'Sweep');
    this.state = pill('queued', 'sweep-state');
    this.bar = bar('queued', 0, true);
    this.counts = h('p', { class: 'muted', id: 'sweep-counts' });
    this.best = h('p', { id: 'sweep-best' });
    this.controls = h('div', { class: 'tools', id: 'sweep-controls' });
    this.tbody = h('tbody');
    this.compare = h('button', { type: 'button', id: 'compare-picked', disabled: true, onclick: () => this.openCompare() }, 'Compare selected');
    const metric = h('select', { id: 'leaderboard-metric', onchange: (e) => { this.metric = e.target.value; this.poller.now(); } },
      METRICS.map((m) => h('option', { value: m, selected: m === this.metric }, m)));
    return h('div', null,
      h('section', { class: 'panel' },
        h('div', { class: 'panel-head' }, this.title, this.state, this.controls),
        this.bar, this.counts, this.best),
      h('section', { class: 'panel' },
        h('div', { class: 'panel-head' }, h('h2', null, 'Leaderboard'), h('div', { class: 'tools' }, 'rank by ', metric, this.compare)),
        h('div', { class: 'table-wrap' },
          h('table', { class: 'grid', id: 'leaderboard' },
            this.thead = h('thead'),
            this.tbody))));
  }

  start() { this.poller.start(); }
  stop() { this.poller.stop(); }

  async refresh() {
    const [s, board] = await Promise.all([
      api('GET', '/v1/sweeps/' + this.id),
      api('GET', '/v1/sweeps/' + this.id + '/leaderboard?metric=' + this.metric),
    ]);
    setText(this.title, s.name);
    setPill(this.state, tone(s.state));
    this.state.textContent = s.state;
    setBar(this.bar, tone(s.state), s.count ? (100 * s.finished) / s.count : 0);
    const counts = Object.entries(s.counts).filter(([, n]) => n > 0).map(([k, n]) => n + ' ' + k);
    setText(this.counts, s.finished + ' of ' + s.count + ' points ended · ' + counts.join(', ') + ' · max ' + s.max_parallel + ' at a time');
    setText(this.best, s.best ? 'Best so far: #' + (s.best.index + 1) + ' ' + JSON.stringify(s.best.parameters) + ', deflated Sharpe ' + num(s.best.value, 3) : 'No finished point with a report yet.');
    this.showControls(s);
    this.showBoard(board, Object.keys(s.parameters));
  }

  showControls(s) {
    this.sweep = s;
    const key = s.allowed_actions.join(',') + (may('operate') ? '+' : '-') + (may('admin') ? 'd' : '');
    if (this.controls.dataset.key === key) return;
    this.controls.dataset.key = key;
    this.controls.textContent = '';
    if (!may('operate')) return;
    for (const action of s.allowed_actions) {
      this.controls.appendChild(h('button', {
        type: 'button', class: action === 'cancel' ? 'danger' : '', dataset: { action },
        onclick: async () => {
          try { await api('POST', '/v1/sweeps/' + this.id + '/' + action); this.poller.now(); } catch (e) { toast(e.message); }
        },
      }, action));
    }
    // Delete is for admin tokens only: others do not see it.
    if (may('admin')) {
      this.controls.appendChild(h('button', {
        type: 'button', class: 'danger-solid', id: 'sweep-delete', dataset: { action: 'delete' },
        title: 'Delete the sweep and every child experiment', onclick: () => this.remove(),
      }, 'Delete'));
    }
  }

  /** Delete, after a confirmation; children that may still run are cancelled first (`?cancel=true`). */
  async remove() {
    const s = this.sweep;
    if (!s || this.removing) return;
    const active = ACTIVE.reduce((n, k) => n + (s.counts[k] || 0), 0);
    const ok = await confirmDialog({
      id: 'delete-dialog',
      title: 'Delete \u2018' + s.name + '\u2019?',
      text: (active ? active + ' of its ' + s.count + ' experiments may still run: they will be cancelled first. ' : '') +
        'Its ' + s.count + ' experiments with their logs, events, signals, reports and files are removed for good.',
      confirm: active ? 'Cancel and delete' : 'Delete',
      danger: true,
    });
    if (!ok) return;
    this.removing = true;
    try {
      await api('DELETE', '/v1/sweeps/' + this.id + (active ? '?cancel=true' : ''));
    } catch (e) {
      if (e.status !== 404) {
        toast('delete refused: ' + e.message);
        this.removing = false;
        return;
      }
    }
    this.stop();
    toast('deleted \u2018' + s.name + '\u2019');
    location.hash = '#/sweeps';
  }

  showBoard(board, paths) {
    const head = h('tr', null, h('th', null, ''), h('th', { class: 'num' }, '#'), h('th', null, 'Experiment'), h('th', null, 'State'),
      paths.map((p) => h('th', null, p.replace(/^config\./, ''))),
      h('th', { class: 'num' }, 'Return'), h('th', { class: 'num' }, 'Sharpe'), h('th', { class: 'num' }, 'Deflated Sharpe'),
      h('th', { class: 'num' }, 'Trades'), h('th', null, 'Verdict'), h('th', { class: 'num' }, 'p'));
    this.thead.textContent = '';
    this.thead.appendChild(head);
    this.tbody.textContent = '';
    for (const r of board.items) {
      const box = h('input', { type: 'checkbox', checked: this.picked.has(r.experiment_id), onchange: (e) => {
        if (e.target.checked) this.picked.add(r.experiment_id); else this.picked.delete(r.experiment_id);
        this.compare.disabled = this.picked.size < 2;
      } });
      this.tbody.appendChild(h('tr', { dataset: { id: r.experiment_id, state: r.state } },
        h('td', null, box), h('td', { class: 'num' }, String(r.rank)),
        h('td', null, h('a', { href: '#/experiments/' + r.experiment_id }, r.experiment_id.slice(0, 8))),
        h('td', null, pill(r.state)),
        paths.map((p) => h('td', null, JSON.stringify(r.parameters[p]))),
        h('td', { class: 'num' }, percent(r.total_return)), h('td', { class: 'num' }, num(r.sharpe, 2)),
        h('td', { class: 'num' }, num(r.deflated_sharpe, 3)), h('td', { class: 'num' }, r.trades ?? '–'),
        h('td', null, r.verdict || '–'), h('td', { class: 'num' }, num(r.p_value, 3))));
    }
    this.compare.disabled = this.picked.size < 2;
  }

  openCompare() { location.hash = '#/compare?ids=' + [...this.picked].join(','); }
}
