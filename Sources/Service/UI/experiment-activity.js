// The experiment page's resource charts (RSS, CPU, rows/s, every 2 s) and
// its lifecycle events.
import { api } from './api.js';
import { LineChart } from './chart.js';
import { h, setText } from './dom.js';
import { clock, fmtCompact, fmtMs, fmtNum, parseTime } from './format.js';

const LIVE_EMPTY = 'No samples yet (one every 2 s while it runs)';

export class ResourcesPanel {
  constructor(id) {
    this.id = id;
    this.after = 0;
    this.samples = [];
    this.drawn = null;
  }

  render() {
    this.sparks = {};
    const spark = (key, title) => {
      const canvas = h('canvas', { class: 'chart spark', id: 'metric-' + key });
      const tip = h('div', { class: 'tooltip', hidden: true });
      const value = h('b');
      this.sparks[key] = { value, chart: null, canvas, tip };
      return h('div', null, h('div', { class: 'spark-title' }, h('span', null, title), value), h('div', { class: 'chart-wrap' }, canvas, tip));
    };
    return h('section', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', null, 'Resources'),
      h('div', { class: 'tools' }, h('a', { href: '/v1/experiments/' + this.id + '/metrics', target: '_blank', class: 'muted' }, 'samples'))),
    h('div', { class: 'spark-grid' }, spark('rss', 'Memory (RSS)'), spark('cpu', 'CPU'), spark('rows', 'Rows per second')));
  }

  /** Creates the charts (once the canvases are in the page). */
  start() {
    const opts = {
      rss: { format: (v) => fmtCompact(v / 1048576) + ' MiB', compact: true, clock: true, area: true },
      cpu: { format: (v) => fmtCompact(v) + ' %', compact: true, clock: true, area: true, zero: true },
      rows: { format: fmtCompact, compact: true, clock: true, area: true, zero: true },
    };
    for (const [k, s] of Object.entries(this.sparks)) {
      s.chart = new LineChart(s.canvas, s.tip, Object.assign({ empty: LIVE_EMPTY }, opts[k]));
      s.chart.setData([]);
    }
  }

  draw() { for (const s of Object.values(this.sparks)) if (s.chart) s.chart.draw(); }

  /** Fetches the new samples; `finished`: the run is over (says why there are none). */
  async load(finished) {
    let page, added = false;
    do {
      page = await api('GET', '/v1/experiments/' + this.id + '/metrics?limit=5000&after=' + this.after);
      for (const m of page.items) { this.samples.push(m); this.after = Math.max(this.after, m.id); added = true; }
    } while (page.next_cursor);
    if (!added && this.drawn === (finished ? 'final' : 'live')) return;
    this.drawn = finished ? 'final' : 'live';
    const series = (key, name) => [{ name, points: this.samples.map((m) => [parseTime(m.ts), m[key]]) }];
    const S = this.sparks;
    const empty = finished ? 'No samples: the run was shorter than the 2 s sampling interval' : LIVE_EMPTY;
    for (const s of Object.values(S)) s.chart.opts.empty = empty;
    S.rss.chart.setData(series('rss_bytes', 'RSS'));
    S.cpu.chart.setData(series('cpu_percent', 'CPU'));
    S.rows.chart.setData(series('rows_per_second', 'rows/s'));
    const last = (key) => { for (let i = this.samples.length - 1; i >= 0; i--) if (this.samples[i][key] !== null) return this.samples[i][key]; return null; };
    const rss = last('rss_bytes'), cpu = last('cpu_percent'), rows = last('rows_per_second');
    setText(S.rss.value, rss === null ? '–' : fmtCompact(rss / 1048576) + ' MiB');
    setText(S.cpu.value, cpu === null ? '–' : fmtNum(cpu, 1) + ' %');
    setText(S.rows.value, rows === null ? '–' : fmtCompact(rows));
  }
}

export class EventsPanel {
  constructor(id) {
    this.id = id;
    this.after = 0;
  }

  render() {
    this.rows = h('tbody');
    this.empty = h('p', { class: 'muted empty' }, 'No events yet.');
    return h('section', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', null, 'Events')),
      h('div', { class: 'table-wrap scroll' }, h('table', { class: 'grid', id: 'events' },
        h('thead', null, h('tr', null, h('th', null, 'Time'), h('th', null, 'Event'), h('th', null, 'Stage'),
          h('th', null, 'Transition'), h('th', { class: 'num' }, 'Duration'))), this.rows)),
      this.empty);
  }

  /** Fetches the new events, newest on top. */
  async load() {
    let page;
    do {
      page = await api('GET', '/v1/experiments/' + this.id + '/events?limit=1000&after=' + this.after);
      for (const ev of page.items) {
        this.after = Math.max(this.after, ev.id);
        const transition = ev.from_status || ev.to_status ? (ev.from_status || '·') + ' → ' + (ev.to_status || '·') : '';
        this.rows.insertBefore(h('tr', { dataset: { id: String(ev.id), kind: ev.kind } },
          h('td', { title: ev.ts }, clock(ev.ts)),
          h('td', null, h('span', { class: 'mono' }, ev.kind)),
          h('td', null, ev.stage || '–'),
          h('td', null, transition),
          h('td', { class: 'num' }, fmtMs(ev.duration_ms))),
        this.rows.firstChild);
      }
    } while (page.next_cursor);
    this.empty.hidden = this.rows.childElementCount > 0;
  }
}
