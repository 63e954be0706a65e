// The experiment page's results: the equity curves and the backtest report.
import { api } from './api.js';
import { LineChart, seriesColors } from './chart.js';
import { h } from './dom.js';
import { fmtNum, parseTime } from './format.js';

const percent = (v, d) => (v === null || v === undefined ? '–' : fmtNum(v * 100, d) + ' %');
const sign = (v) => (v > 0 ? 'pos' : v < 0 ? 'neg' : '');

export class ResultsPanels {
  constructor(id) {
    this.id = id;
    this.series = null;
    this.highlighted = null;
  }

  /** Two panels (equity, backtest), for a two-column row. */
  render() {
    this.canvas = h('canvas', { class: 'chart equity', id: 'equity' });
    this.tip = h('div', { class: 'tooltip', hidden: true });
    this.legend = h('div', { class: 'legend' });
    this.report = h('div', { id: 'report' }, h('p', { class: 'muted' }, 'The backtest report appears when the analysis stage has run.'));
    return [
      h('section', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', null, 'Equity')),
        h('div', { class: 'chart-wrap' }, this.canvas, this.tip), this.legend),
      h('section', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', null, 'Backtest')), this.report),
    ];
  }

  start() { this.equity = new LineChart(this.canvas, this.tip, { empty: 'No equity curve yet' }); }

  /** Fetches the report and the equity curves (either may not exist yet). */
  async load() {
    const base = '/v1/experiments/' + this.id;
    let report = null;
    try { report = await api('GET', base + '/report'); } catch (_) { report = null; }
    if (report) this.showReport(report);
    let csv = null;
    try { csv = await api('GET', base + '/artifacts/equity.csv', { text: true, headers: { Accept: 'text/csv' } }); } catch (_) { csv = null; }
    // Parquet-only exports (the default) come with `equity.csv.gz` for this chart.
    if (!csv) {
      try { csv = await api('GET', base + '/artifacts/equity.csv.gz', { gunzip: true, headers: { Accept: 'application/gzip' } }); } catch (_) { csv = null; }
    }
    if (csv) this.showEquity(csv);
  }

  showReport(r) {
    const R = this.report;
    R.textContent = '';
    const b = r.backtest || {};
    const s = b.summary || {};
    const stat = (k, v, c, sub) => h('div', { class: 'stat' }, h('dt', null, k), h('dd', { class: c || '' }, v, sub ? h('small', null, sub) : null));
    R.appendChild(h('dl', { class: 'stats' },
      stat('Accepted', r.signals ? String(r.signals.accepted) : '–', '', r.signals ? 'of ' + r.signals.candidates : null),
      stat('Trades', String(s.trades ?? '–')),
      stat('Win rate', percent(s.win_rate, 1)),
      stat('Profit factor', fmtNum(s.profit_factor, 2)),
      stat('Sharpe', fmtNum(s.sharpe, 2), sign(s.sharpe)),
      stat('Max drawdown', percent(s.max_drawdown, 1), 'neg'),
      stat('Return', percent(s.total_return, 2), sign(s.total_return)),
      stat('Exposure', percent(s.exposure, 1))));
    const ev = r.evaluation && r.evaluation.overall;
    if (ev) {
      // Issue 13: the verdict, accepted vs rejected, the random-entry baseline, calibration bins.
      const acc = ev.accepted || {}, rej = ev.rejected || {}, rnd = (ev.baselines || {}).random_entries || {};
      R.appendChild(h('p', { class: ev.verdict === 'edge' ? 'pos' : 'muted' }, 'Evaluation: ' + ev.verdict + ' — ' + ev.reason));
      R.appendChild(h('dl', { class: 'stats' },
        stat('Accepted mean R', fmtNum(acc.mean_r, 2), sign(acc.mean_r), (acc.count ?? 0) + ' resolved'),
        stat('Rejected mean R', fmtNum(rej.mean_r, 2), sign(rej.mean_r), (rej.count ?? 0) + ' resolved'),
        stat('p (random entries)', fmtNum(rnd.p_value, 3), '', (rnd.runs ?? 0) + ' runs'),
        stat('Deflated Sharpe', fmtNum(ev.deflated_sharpe, 2))));
      const bins = (ev.calibration || {}).bins || [];
      if (bins.length) {
        R.appendChild(h('div', { class: 'table-wrap' }, h('table', { class: 'grid' },
          h('thead', null, h('tr', null, h('th', null, 'Quality'), h('th', { class: 'num' }, 'Count'), h('th', { class: 'num' }, 'Predicted'),
            h('th', { class: 'num' }, 'Realized'), h('th', { class: 'num' }, 'Mean R'))),
          h('tbody', null, bins.map((x) => h('tr', null, h('td', null, fmtNum(x.lower, 1) + '–' + fmtNum(x.upper, 1)),
            h('td', { class: 'num' }, String(x.count)), h('td', { class: 'num' }, fmtNum(x.predicted, 3)),
            h('td', { class: 'num' }, fmtNum(x.realized, 3)), h('td', { class: 'num ' + sign(x.mean_r) }, fmtNum(x.mean_r, 2))))))));
      }
    }
    const results = b.results || [];
    if (results.length) {
      R.appendChild(h('div', { class: 'table-wrap' }, h('table', { class: 'grid' },
        h('thead', null, h('tr', null, h('th', null, 'Symbol'), h('th', null, 'TF'), h('th', { class: 'num' }, 'Trades'),
          h('th', { class: 'num' }, 'Win'), h('th', { class: 'num' }, 'PF'), h('th', { class: 'num' }, 'Sharpe'), h('th', { class: 'num' }, 'Return'))),
        h('tbody', null, results.map((x) => {
          const m = x.metrics || {};
          return h('tr', null, h('td', null, x.symbol), h('td', null, x.timeframe), h('td', { class: 'num' }, String(m.trades ?? '–')),
            h('td', { class: 'num' }, percent(m.win_rate, 0)),
            h('td', { class: 'num' }, fmtNum(m.profit_factor, 2)), h('td', { class: 'num' }, fmtNum(m.sharpe, 2)),
            h('td', { class: 'num ' + sign(m.total_return) }, percent(m.total_return, 2)));
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
      const t = /^\d+$/.test(raw) ? Number(raw) / 1000 : parseTime(raw);
      const v = Number(f[iE]);
      if (!groups.has(name)) groups.set(name, []);
      groups.get(name).push([t, isFinite(v) ? v : null]);
    }
    this.series = [...groups].map(([name, points]) => ({ name, points }));
    const colors = seriesColors();
    this.series.forEach((s, i) => { s.color = colors[i % colors.length]; });
    this.legend.textContent = '';
    for (const s of this.series) {
      const i = h('i');
      i.style.background = s.color;
      this.legend.appendChild(h('span', null, i, s.name));
    }
    this.canvas.dataset.series = String(this.series.length);
    this.highlight(this.highlighted);
  }

  /** Draws the curve of `name` ('EURUSD · 1h') on top, when there is one. */
  highlight(name) {
    this.highlighted = name;
    if (!this.series) return;
    this.equity.opts.highlight = this.series.some((s) => s.name === name) ? name : null;
    this.equity.setData(this.series);
  }
}
