// The experiments list: every experiment (or those in one state), live.
import { api } from './api.js';
import { Poller, bar, h, pill, setBar, setPill, setText } from './dom.js';
import { ago, dateTime, duration, pct } from './format.js';
import { STATUSES } from './lifecycle.js';

export class ListView {
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
    r.pin = h('span', { class: 'pin-mark', title: 'Pinned: retention keeps it', hidden: true }, 'pinned');
    r.sub = h('span', { class: 'sub' }, e.id.slice(0, 8));
    r.pill = pill(e.status);
    r.prio = h('span', { class: 'prio' });
    r.stage = h('span');
    r.bar = bar(e.status, e.percent);
    r.pct = h('span', { class: 'pct' });
    r.age = h('td', { class: 'num' });
    r.dur = h('td', { class: 'num' });
    r.tr = h('tr', { class: 'link', dataset: { id: e.id }, onclick: (ev) => { if (ev.target.tagName !== 'A') location.hash = href; } },
      h('td', null, r.name, r.pin, r.sub),
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
    r.pin.hidden = e.pinned !== true;
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
