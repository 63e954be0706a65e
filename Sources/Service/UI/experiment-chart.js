// The experiment page's bar chart: candles of one symbol × timeframe with the
// accepted signals on them.
import { api } from './api.js';
import { CandleChart } from './chart.js';
import { h, setText } from './dom.js';

const TIMEFRAMES = ['1m', '5m', '15m', '30m', '1h', '4h', '1d', '1w', '1M'];

export class ChartPanel {
  /** params: the page's query (symbol, timeframe, bars); changed(symbol, tf): a new chart is drawn. */
  constructor(id, params, changed) {
    this.id = id;
    this.params = params;
    this.changed = changed;
    this.loadedFor = null;
    this.seq = 0;
  }

  render() {
    const E = (this.el = {});
    E.symbol = h('select', { id: 'chart-symbol', 'aria-label': 'Symbol', onchange: () => this.load(true) });
    E.timeframe = h('select', { id: 'chart-timeframe', 'aria-label': 'Timeframe', onchange: () => this.load(true) });
    E.range = h('select', { id: 'chart-range', 'aria-label': 'Bars', onchange: () => this.load(true) },
      [100, 200, 500, 1000, 5000].map((n) => h('option', { value: String(n), selected: n === 200 }, 'last ' + n + ' bars')));
    E.candles = h('canvas', { class: 'chart candles', id: 'candles', dataset: { state: 'empty' } });
    E.tip = h('div', { class: 'tooltip', id: 'candle-tooltip', hidden: true });
    E.message = h('div', { class: 'chart-message', id: 'chart-message' }, 'The chart appears once the merge stage has aligned the bars.');
    E.wrap = h('div', { class: 'chart-wrap', hidden: true }, E.candles, E.tip);
    E.summary = h('span', { class: 'chart-summary', id: 'chart-summary' });
    return h('section', { class: 'panel', id: 'chart-panel' },
      h('div', { class: 'panel-head' }, h('h2', null, 'Bars and accepted signals'), E.summary,
        h('div', { class: 'tools' }, E.symbol, E.timeframe, E.range)),
      E.message, E.wrap,
      h('div', { class: 'legend' },
        h('span', null, h('i', { class: 'up' }), 'up bar'), h('span', null, h('i', { class: 'down' }), 'down bar'),
        h('span', null, h('i', { class: 'accent' }), '▲ long / ▼ short entry'),
        h('span', null, h('i', { class: 'dash-down' }), 'stop'), h('span', null, h('i', { class: 'dash-up' }), 'target'),
        h('span', null, 'hover a marker for the quality and its six components')));
  }

  start() { this.candles = new CandleChart(this.el.candles, this.el.tip); }

  get symbol() { return this.el.symbol.value; }
  get timeframe() { return this.el.timeframe.value; }

  /** The symbol and timeframe menus, from the experiment's request. */
  fillOptions(exp) {
    const req = (exp && exp.request) || {};
    const E = this.el;
    const symbols = (req.datasets || []).map((d) => d.symbol);
    const tfs = (req.timeframes || []).slice().sort((a, b) => TIMEFRAMES.indexOf(a) - TIMEFRAMES.indexOf(b));
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

  /** Draws the chosen bars and their accepted signals (again only when `force` or the choice changed). */
  async load(force) {
    const E = this.el;
    const symbol = E.symbol.value, tf = E.timeframe.value, limit = E.range.value;
    if (!symbol || !tf) return;
    const key = symbol + '|' + tf + '|' + limit;
    if (!force && this.loadedFor === key) return;
    const seq = ++this.seq;
    E.candles.dataset.state = 'loading';
    const base = '/v1/experiments/' + this.id;
    let bars;
    try {
      bars = await api('GET', base + '/bars?' + new URLSearchParams({ symbol, timeframe: tf, limit }));
    } catch (e) {
      if (seq !== this.seq) return;
      E.wrap.hidden = true;
      E.message.hidden = false;
      E.message.textContent = e.status === 404 ? 'No bars to draw yet: ' + e.message : e.message;
      E.candles.dataset.state = 'empty';
      setText(E.summary, '');
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
    if (seq !== this.seq) return;
    this.loadedFor = key;
    E.message.hidden = true;
    E.wrap.hidden = false;
    E.candles.dataset.symbol = symbol;
    E.candles.dataset.timeframe = tf;
    this.candles.setData(bars, signals);
    const longs = signals.filter((s) => s.direction === 'long').length;
    setText(E.summary, bars.count + ' bars' + (bars.truncated ? ' (latest)' : '') + ' · ' + signals.length +
      ' accepted signals (' + longs + ' long, ' + (signals.length - longs) + ' short)');
    this.changed(symbol, tf);
  }
}
