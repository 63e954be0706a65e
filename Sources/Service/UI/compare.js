// The compare page: pick 2 to 20 experiments (from the latest ones, or come
// from a sweep's leaderboard), then their config differences, their figures
// side by side and their equity curves overlaid.
import { api } from './api.js';
import { LineChart, seriesColors } from './chart.js';
import { h, setText } from './dom.js';
import { fmtNum, parseTime } from './format.js';

const show = (v) => (v === null || v === undefined ? '–' : typeof v === 'number' ? fmtNum(v, Math.abs(v) >= 100 ? 0 : 3) : typeof v === 'string' ? v : JSON.stringify(v));

export class CompareView {
  constructor(params) {
    this.ids = (params.get('ids') || '').split(',').filter((s) => /^[0-9a-fA-F-]{36}$/.test(s)).map((s) => s.toLowerCase());
  }

  render() {
    this.picker = h('div', { class: 'chips', id: 'compare-picker' });
    this.status = h('p', { class: 'muted', id: 'compare-status' });
    this.diff = h('div', { id: 'config-diff' });
    this.metrics = h('div', { id: 'compare-metrics' });
    this.canvas = h('canvas', { class: 'chart equity', id: 'compare-equity' });
    this.tip = h('div', { class: 'tooltip', hidden: true });
    this.legend = h('div', { class: 'legend' });
    return h('div', null,
      h('section', { class: 'panel' },
        h('div', { class: 'panel-head' }, h('h1', null, 'Compare'),
          h('div', { class: 'tools' }, h('button', { type: 'button', id: 'compare-go', onclick: () => this.go() }, 'Compare selected'))),
        this.picker, this.status),
      h('section', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', null, 'Config differences')), this.diff),
      h('section', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', null, 'Figures')), this.metrics),
      h('section', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', null, 'Equity')),
        h('div', { class: 'chart-wrap' }, this.canvas, this.tip), this.legend));
  }

  async start() {
    this.equity = new LineChart(this.canvas, this.tip, { empty: 'Pick two experiments with an equity curve' });
    await this.loadPicker();
    if (this.ids.length >= 2) await this.load();
    else setText(this.status, 'Pick 2 to 20 experiments, or come here from a sweep\u2019s leaderboard.');
  }

  stop() {}

  async loadPicker() {
    let page;
    try { page = await api('GET', '/v1/experiments?limit=50'); } catch (_) { return; }
    const picked = new Set(this.ids);
    for (const e of page.items) {
      this.picker.appendChild(h('label', { class: 'chip' },
        h('input', { type: 'checkbox', value: e.id, checked: picked.has(e.id) }), ' ' + e.name + ' (' + e.id.slice(0, 8) + ', ' + e.status + ')'));
    }
  }

  go() {
    const ids = [...this.picker.querySelectorAll('input:checked')].map((i) => i.value);
    location.hash = '#/compare?ids=' + ids.join(',');
  }

  async load() {
    let c;
    try { c = await api('GET', '/v1/experiments/compare?ids=' + this.ids.join(',')); } catch (e) { setText(this.status, e.message); return; }
    setText(this.status, c.experiments.map((e) => e.name + ' (' + e.status + ')').join(' · '));
    const names = c.experiments.map((e) => e.name + ' ' + e.id.slice(0, 8));
    const head = () => h('tr', null, h('th', null, ''), names.map((n) => h('th', null, n)));
    this.diff.textContent = '';
    this.diff.appendChild(c.config_diff.length
      ? h('table', { class: 'grid', id: 'config-diff-table' }, h('thead', null, head()),
        h('tbody', null, c.config_diff.map((d) => h('tr', { dataset: { path: d.path } }, h('td', null, d.path), d.values.map((v) => h('td', null, show(v)))))))
      : h('p', { class: 'muted' }, 'Their requests are the same.'));
    const rows = [];
    for (const f of c.metrics.fields) rows.push(h('tr', null, h('td', null, 'overall · ' + f), c.metrics.overall.map((m) => h('td', { class: 'num' }, show(m[f])))));
    for (const s of c.metrics.series) {
      for (const f of c.metrics.fields) rows.push(h('tr', null, h('td', null, s.symbol + ' · ' + s.timeframe + ' · ' + f), s.values.map((m) => h('td', { class: 'num' }, show(m ? m[f] : null)))));
    }
    this.metrics.textContent = '';
    this.metrics.appendChild(h('table', { class: 'grid', id: 'compare-table' }, h('thead', null, head()), h('tbody', null, rows)));
    const times = c.equity.timestamps.map(parseTime);
    const colors = seriesColors();
    const series = [];
    c.equity.curves.forEach((curve, i) => {
      if (!curve) return;
      series.push({ name: names[i], color: colors[i % colors.length], points: curve.map((v, k) => [times[k], v]) });
    });
    this.legend.textContent = '';
    for (const s of series) {
      const i = h('i');
      i.style.background = s.color;
      this.legend.appendChild(h('span', null, i, s.name));
    }
    this.canvas.dataset.series = String(series.length);
    this.equity.setData(series);
  }
}
