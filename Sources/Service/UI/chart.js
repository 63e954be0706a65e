// SignalForge charts: a small canvas renderer (candlesticks with signal
// markers, line charts). No library.
import { fmtCompact, fmtNum, parseTime } from './format.js';

const PAD = { left: 8, right: 64, top: 12, bottom: 26 };

function cssVar(name, fallback) {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

// A colour variable resolved for the current theme: the palette writes each
// colour once as light-dark(light, dark), which a canvas cannot read, so a
// hidden probe element resolves it to rgb().
let probe = null;
function cssColor(name, fallback) {
  if (!probe || !probe.isConnected) {
    probe = document.createElement('span');
    probe.hidden = true;
    document.body.appendChild(probe);
  }
  probe.style.color = '';
  probe.style.color = 'var(' + name + ')';
  const v = probe.style.color ? getComputedStyle(probe).color : '';
  return v || fallback;
}

// The colours of the series of a multi-line chart, in order.
export function seriesColors() {
  return ['--accent', '--up', '--warn', '--s-interrupted', '--down', '--s-cancelling', '--muted']
    .map((n, i) => cssColor(n, ['#1f6feb', '#1a7f37', '#9a6700', '#8250df', '#cf222e', '#bc4c00', '#636c76'][i]));
}

function palette() {
  return {
    text: cssColor('--text', '#1b1f24'),
    muted: cssColor('--muted', '#636c76'),
    grid: cssColor('--grid', 'rgba(0,0,0,0.07)'),
    border: cssColor('--border', '#dfe3e8'),
    up: cssColor('--up', '#1a7f37'),
    down: cssColor('--down', '#cf222e'),
    accent: cssColor('--accent', '#1f6feb'),
    panel: cssColor('--panel', '#ffffff'),
    warn: cssColor('--warn', '#9a6700'),
    series: seriesColors(),
  };
}

// Sizes the backing store to the element's CSS size times the pixel ratio.
function setup(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const rect = canvas.getBoundingClientRect();
  const w = Math.max(50, Math.round(rect.width));
  const h = Math.max(50, Math.round(rect.height));
  if (canvas.width !== Math.round(w * ratio) || canvas.height !== Math.round(h * ratio)) {
    canvas.width = Math.round(w * ratio);
    canvas.height = Math.round(h * ratio);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, w, h);
  return { ctx, w, h };
}

// "Nice" tick values between lo and hi.
function ticks(lo, hi, count) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(v);
  return out;
}

function decimalsFor(range) {
  if (!(range > 0)) return 2;
  return Math.max(0, Math.min(6, 3 - Math.floor(Math.log10(range))));
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
function pad2(n) { return (n < 10 ? '0' : '') + n; }
// Axis label for a time in ms (UTC), given the span shown.
function timeLabel(ms, spanMs) {
  const d = new Date(ms);
  const day = d.getUTCDate() + ' ' + MONTHS[d.getUTCMonth()];
  if (spanMs > 20 * 86400e3) return day;
  const hm = pad2(d.getUTCHours()) + ':' + pad2(d.getUTCMinutes());
  if (spanMs > 2 * 86400e3) return d.getUTCHours() === 0 && d.getUTCMinutes() === 0 ? day : day + ' ' + hm;
  return hm;
}
function isoMinute(ms) {
  const d = new Date(ms);
  return d.getUTCFullYear() + '-' + pad2(d.getUTCMonth() + 1) + '-' + pad2(d.getUTCDate()) + ' ' +
    pad2(d.getUTCHours()) + ':' + pad2(d.getUTCMinutes()) + ' UTC';
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function placeTooltip(tip, wrap, x, y) {
  const ww = wrap.clientWidth;
  tip.hidden = false;
  const tw = tip.offsetWidth;
  const th = tip.offsetHeight;
  let left = x + 16;
  if (left + tw > ww) left = Math.max(0, x - tw - 16);
  let top = y - th / 2;
  if (top < 0) top = 0;
  if (top + th > wrap.clientHeight) top = Math.max(0, wrap.clientHeight - th);
  tip.style.left = left + 'px';
  tip.style.top = top + 'px';
}

function rowTable(rows) {
  const t = el('table');
  for (const [k, v, extra] of rows) {
    const tr = el('tr');
    tr.appendChild(el('td', 'muted', k));
    const td = el('td', null, v);
    if (extra) td.appendChild(extra);
    tr.appendChild(td);
    t.appendChild(tr);
  }
  return t;
}

const COMPONENTS = [
  ['pattern_strength', 'Pattern strength'],
  ['mtf_agreement', 'Multi-timeframe agreement'],
  ['regime_confidence', 'Regime confidence'],
  ['volume_confirmation', 'Volume confirmation'],
  ['sentiment_alignment', 'Sentiment alignment'],
  ['correlation_safety', 'Correlation safety'],
];

/**
 * A candlestick chart with volume and accepted signals.
 * bars: {timestamps: [µs], open, high, low, close, volume}; signals: API signal objects.
 * Sets data-candles (bars drawn) and data-markers (signals drawn) on the canvas.
 */
export class CandleChart {
  constructor(canvas, tooltip) {
    this.canvas = canvas;
    this.tooltip = tooltip;
    this.wrap = canvas.parentElement;
    this.bars = null;
    this.signals = [];
    this.markers = [];
    this.hover = null;
    canvas.addEventListener('mousemove', (e) => this.onMove(e));
    canvas.addEventListener('mouseleave', () => { this.hover = null; this.tooltip.hidden = true; this.draw(); });
    if (window.ResizeObserver) new ResizeObserver(() => this.draw()).observe(canvas);
  }

  setData(bars, signals) {
    this.bars = bars;
    this.signals = signals || [];
    const ms = bars.timestamps.map((t) => t / 1000);
    this.ms = ms;
    // Each accepted signal sits on the bar whose open time it carries (or the last bar before it).
    this.markers = [];
    for (const s of this.signals) {
      const t = parseTime(s.timestamp);
      let lo = 0, hi = ms.length - 1, at = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (ms[mid] <= t) { at = mid; lo = mid + 1; } else { hi = mid - 1; }
      }
      if (at < 0) continue;
      this.markers.push({ index: at, signal: s });
    }
    this.canvas.dataset.candles = String(ms.length);
    this.canvas.dataset.markers = String(this.markers.length);
    this.canvas.dataset.first = ms.length ? String(bars.timestamps[0]) : '';
    this.canvas.dataset.last = ms.length ? String(bars.timestamps[ms.length - 1]) : '';
    this.draw();
  }

  layout(w, h) {
    const n = this.bars.timestamps.length;
    const plotW = w - PAD.left - PAD.right;
    const priceH = (h - PAD.top - PAD.bottom) * 0.8;
    const volTop = PAD.top + priceH + 8;
    const volH = h - PAD.bottom - volTop;
    const slot = plotW / Math.max(1, n);
    let lo = Infinity, hi = -Infinity, vmax = 0;
    const b = this.bars;
    for (let i = 0; i < n; i++) {
      if (isFinite(b.low[i])) lo = Math.min(lo, b.low[i]);
      if (isFinite(b.high[i])) hi = Math.max(hi, b.high[i]);
      if (b.volume && isFinite(b.volume[i])) vmax = Math.max(vmax, b.volume[i]);
    }
    for (const m of this.markers) {
      for (const v of [m.signal.stop, m.signal.target, m.signal.entry]) {
        if (v !== null && isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      }
    }
    if (!isFinite(lo)) { lo = 0; hi = 1; }
    const margin = (hi - lo) * 0.04 || Math.abs(hi) * 0.01 || 1;
    lo -= margin; hi += margin;
    return {
      n, plotW, priceH, volTop, volH, slot, lo, hi, vmax,
      x: (i) => PAD.left + slot * (i + 0.5),
      y: (p) => PAD.top + (hi - p) / (hi - lo) * priceH,
      vy: (v) => volTop + volH - (vmax > 0 ? v / vmax * volH : 0),
    };
  }

  draw() {
    if (!this.bars) return;
    const { ctx, w, h } = setup(this.canvas);
    const c = palette();
    const b = this.bars;
    const L = this.layout(w, h);
    this.L = L;
    const d = decimalsFor(L.hi - L.lo);
    ctx.font = '11px ' + cssVar('--sans', 'sans-serif');
    ctx.textBaseline = 'middle';

    // Grid and price axis.
    ctx.lineWidth = 1;
    for (const v of ticks(L.lo, L.hi, 6)) {
      const y = Math.round(L.y(v)) + 0.5;
      ctx.strokeStyle = c.grid;
      ctx.beginPath(); ctx.moveTo(PAD.left, y); ctx.lineTo(w - PAD.right, y); ctx.stroke();
      ctx.fillStyle = c.muted;
      ctx.textAlign = 'left';
      ctx.fillText(fmtNum(v, d), w - PAD.right + 6, y);
    }
    // Time axis.
    if (L.n > 1) {
      const span = this.ms[L.n - 1] - this.ms[0];
      const every = Math.max(1, Math.ceil(L.n / Math.max(2, Math.floor(L.plotW / 110))));
      ctx.textAlign = 'center';
      for (let i = 0; i < L.n; i += every) {
        const x = Math.round(L.x(i)) + 0.5;
        ctx.strokeStyle = c.grid;
        ctx.beginPath(); ctx.moveTo(x, PAD.top); ctx.lineTo(x, h - PAD.bottom); ctx.stroke();
        const label = timeLabel(this.ms[i], span);
        const half = ctx.measureText(label).width / 2;
        if (x - half < 0 || x + half > w - PAD.right) continue;
        ctx.fillStyle = c.muted;
        ctx.fillText(label, x, h - PAD.bottom + 13);
      }
    }

    // Volume.
    const bodyW = Math.max(1, Math.min(14, L.slot * 0.68));
    if (L.vmax > 0) {
      ctx.globalAlpha = 0.35;
      for (let i = 0; i < L.n; i++) {
        const v = b.volume[i];
        if (!isFinite(v)) continue;
        ctx.fillStyle = b.close[i] >= b.open[i] ? c.up : c.down;
        const y = L.vy(v);
        ctx.fillRect(L.x(i) - bodyW / 2, y, bodyW, L.volTop + L.volH - y);
      }
      ctx.globalAlpha = 1;
    }

    // Candles: a wick from low to high, a body from open to close.
    for (let i = 0; i < L.n; i++) {
      const o = b.open[i], hi = b.high[i], lo = b.low[i], cl = b.close[i];
      const up = cl >= o;
      const color = up ? c.up : c.down;
      const x = L.x(i);
      ctx.strokeStyle = color;
      ctx.fillStyle = color;
      if (isFinite(hi) && isFinite(lo)) {
        ctx.beginPath();
        ctx.moveTo(Math.round(x) + 0.5, L.y(hi));
        ctx.lineTo(Math.round(x) + 0.5, L.y(lo));
        ctx.stroke();
      }
      if (isFinite(o) && isFinite(cl)) {
        const top = L.y(Math.max(o, cl));
        const hgt = Math.max(1, Math.abs(L.y(o) - L.y(cl)));
        ctx.fillRect(x - bodyW / 2, top, bodyW, hgt);
      }
    }

    // Signals: stop and target lines over the holding horizon, an entry marker.
    for (const m of this.markers) {
      const s = m.signal;
      const x0 = L.x(m.index);
      const x1 = L.x(Math.min(L.n - 1, m.index + Math.max(1, s.horizon_bars || 1)));
      const hovered = this.hover && this.hover.kind === 'marker' && this.hover.marker === m;
      ctx.setLineDash([4, 3]);
      ctx.lineWidth = hovered ? 2 : 1.2;
      if (s.stop !== null && isFinite(s.stop)) {
        ctx.strokeStyle = c.down;
        ctx.beginPath(); ctx.moveTo(x0, L.y(s.stop)); ctx.lineTo(x1, L.y(s.stop)); ctx.stroke();
      }
      if (s.target !== null && isFinite(s.target)) {
        ctx.strokeStyle = c.up;
        ctx.beginPath(); ctx.moveTo(x0, L.y(s.target)); ctx.lineTo(x1, L.y(s.target)); ctx.stroke();
      }
      ctx.setLineDash([]);
      ctx.lineWidth = 1;
      const long = s.direction === 'long';
      const price = s.entry !== null && isFinite(s.entry) ? s.entry : b.close[m.index];
      const y = L.y(price);
      const size = hovered ? 8 : 6;
      ctx.fillStyle = c.accent;
      ctx.strokeStyle = c.panel;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      if (long) {
        ctx.moveTo(x0, y); ctx.lineTo(x0 - size, y + size * 1.6); ctx.lineTo(x0 + size, y + size * 1.6);
      } else {
        ctx.moveTo(x0, y); ctx.lineTo(x0 - size, y - size * 1.6); ctx.lineTo(x0 + size, y - size * 1.6);
      }
      ctx.closePath();
      ctx.fill();
      ctx.stroke();
      m.x = x0;
      m.y = long ? y + size * 0.8 : y - size * 0.8;
      ctx.lineWidth = 1;
    }

    // Last close.
    if (L.n > 0 && isFinite(b.close[L.n - 1])) {
      const last = b.close[L.n - 1];
      const y = L.y(last);
      ctx.fillStyle = last >= b.open[L.n - 1] ? c.up : c.down;
      ctx.fillRect(w - PAD.right + 2, y - 8, PAD.right - 4, 16);
      ctx.fillStyle = '#fff';
      ctx.textAlign = 'left';
      ctx.fillText(fmtNum(last, d), w - PAD.right + 6, y);
    }

    // Crosshair.
    if (this.hover) {
      ctx.strokeStyle = c.muted;
      ctx.setLineDash([2, 3]);
      const x = Math.round(L.x(this.hover.index)) + 0.5;
      ctx.beginPath(); ctx.moveTo(x, PAD.top); ctx.lineTo(x, h - PAD.bottom); ctx.stroke();
      ctx.setLineDash([]);
    }
    this.canvas.dataset.state = 'ready';
  }

  onMove(e) {
    if (!this.bars || !this.L) return;
    const rect = this.canvas.getBoundingClientRect();
    const x = e.clientX - rect.left;
    const y = e.clientY - rect.top;
    const L = this.L;
    let best = null;
    for (const m of this.markers) {
      const dist = Math.hypot((m.x || 0) - x, (m.y || 0) - y);
      if (dist < 12 && (!best || dist < best.dist)) best = { dist, m };
    }
    const index = Math.max(0, Math.min(L.n - 1, Math.floor((x - PAD.left) / L.slot)));
    if (best) this.hover = { kind: 'marker', marker: best.m, index: best.m.index };
    else if (x >= PAD.left && x <= PAD.left + L.plotW && L.n > 0) this.hover = { kind: 'bar', index };
    else this.hover = null;
    this.draw();
    this.showTooltip(x, y);
  }

  showTooltip(x, y) {
    const tip = this.tooltip;
    if (!this.hover) { tip.hidden = true; return; }
    tip.textContent = '';
    const b = this.bars;
    const d = decimalsFor(this.L.hi - this.L.lo) + 1;
    if (this.hover.kind === 'marker') {
      const s = this.hover.marker.signal;
      tip.appendChild(el('h3', s.direction === 'long' ? 'pos' : 'neg',
        (s.direction === 'long' ? '▲ Long ' : '▼ Short ') + s.symbol + ' · ' + s.timeframe));
      tip.appendChild(el('div', 'muted', isoMinute(parseTime(s.timestamp))));
      const q = el('span', 'cbar'); const qi = el('i'); qi.style.width = (s.quality * 100).toFixed(0) + '%'; q.appendChild(qi);
      const rows = [
        ['Entry', fmtNum(s.entry, d)], ['Stop', fmtNum(s.stop, d)], ['Target', fmtNum(s.target, d)],
        ['Horizon', (s.horizon_bars || 0) + ' bars'], ['Quality', fmtNum(s.quality, 3), q],
      ];
      if (s.quality_prior !== undefined) rows.push(['Prior', fmtNum(s.quality_prior, 3)]);
      if (s.outcome) rows.push(['Outcome', s.outcome.exit + (s.outcome.r === null || s.outcome.r === undefined ? '' : ' · ' + fmtNum(s.outcome.r, 2) + ' R')]);
      tip.appendChild(rowTable(rows));
      const comp = [];
      for (const [key, label] of COMPONENTS) {
        const v = s.components ? s.components[key] : null;
        const bar = el('span', 'cbar'); const bi = el('i');
        bi.style.width = (v === null || v === undefined ? 0 : v * 100).toFixed(0) + '%';
        bar.appendChild(bi);
        comp.push([label, fmtNum(v, 2), bar]);
      }
      const h = el('div', 'muted', 'Quality components');
      h.style.marginTop = '6px';
      tip.appendChild(h);
      tip.appendChild(rowTable(comp));
    } else {
      const i = this.hover.index;
      const up = b.close[i] >= b.open[i];
      tip.appendChild(el('h3', up ? 'pos' : 'neg', isoMinute(this.ms[i])));
      tip.appendChild(rowTable([
        ['Open', fmtNum(b.open[i], d)], ['High', fmtNum(b.high[i], d)], ['Low', fmtNum(b.low[i], d)],
        ['Close', fmtNum(b.close[i], d)], ['Volume', fmtCompact(b.volume ? b.volume[i] : null)],
      ]));
    }
    placeTooltip(tip, this.wrap, x, y);
  }
}

/**
 * Line chart: series [{name, points: [[ms, value], …]}], opts {format, highlight, area}.
 */
export class LineChart {
  constructor(canvas, tooltip, opts) {
    this.canvas = canvas;
    this.tooltip = tooltip;
    this.wrap = canvas.parentElement;
    this.opts = opts || {};
    this.series = [];
    this.hoverX = null;
    if (tooltip) {
      canvas.addEventListener('mousemove', (e) => {
        const r = canvas.getBoundingClientRect();
        this.hoverX = e.clientX - r.left;
        this.hoverY = e.clientY - r.top;
        this.draw();
      });
      canvas.addEventListener('mouseleave', () => { this.hoverX = null; tooltip.hidden = true; this.draw(); });
    }
    if (window.ResizeObserver) new ResizeObserver(() => this.draw()).observe(canvas);
  }

  setData(series) { this.series = series; this.draw(); }

  draw() {
    const { ctx, w, h } = setup(this.canvas);
    const c = palette();
    const fmt = this.opts.format || fmtCompact;
    const pad = { left: 6, right: this.opts.compact ? 46 : 64, top: 8, bottom: this.opts.compact ? 18 : 24 };
    let t0 = Infinity, t1 = -Infinity, lo = Infinity, hi = -Infinity, points = 0;
    for (const s of this.series) {
      for (const [t, v] of s.points) {
        if (v === null || !isFinite(v)) continue;
        t0 = Math.min(t0, t); t1 = Math.max(t1, t); lo = Math.min(lo, v); hi = Math.max(hi, v); points++;
      }
    }
    this.canvas.dataset.points = String(points);
    ctx.font = '11px ' + cssVar('--sans', 'sans-serif');
    ctx.textBaseline = 'middle';
    if (!points) {
      ctx.fillStyle = c.muted;
      ctx.textAlign = 'center';
      ctx.fillText(this.opts.empty || 'No data yet', w / 2, h / 2);
      return;
    }
    if (this.opts.zero) lo = Math.min(lo, 0);
    if (hi === lo) { hi += Math.abs(hi) * 0.05 || 1; lo -= Math.abs(lo) * 0.05 || 0; }
    const m = (hi - lo) * 0.06;
    hi += m; if (!(this.opts.zero && lo === 0)) lo -= m;
    if (t1 === t0) { t1 = t0 + 1000; }
    const pw = w - pad.left - pad.right, ph = h - pad.top - pad.bottom;
    const X = (t) => pad.left + (t - t0) / (t1 - t0) * pw;
    const Y = (v) => pad.top + (hi - v) / (hi - lo) * ph;
    ctx.lineWidth = 1;
    for (const v of ticks(lo, hi, this.opts.compact ? 3 : 5)) {
      const y = Math.round(Y(v)) + 0.5;
      ctx.strokeStyle = c.grid;
      ctx.beginPath(); ctx.moveTo(pad.left, y); ctx.lineTo(w - pad.right, y); ctx.stroke();
      ctx.fillStyle = c.muted;
      ctx.textAlign = 'left';
      ctx.fillText(fmt(v), w - pad.right + 6, y);
    }
    const span = t1 - t0;
    const n = Math.max(2, Math.floor(pw / 120));
    ctx.textAlign = 'center';
    for (let k = 0; k <= n; k++) {
      const t = t0 + span * k / n;
      const x = X(t);
      ctx.fillStyle = c.muted;
      const label = this.opts.clock ? new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }) : timeLabel(t, span);
      if (k > 0 && k < n) ctx.fillText(label, x, h - pad.bottom + 11);
    }
    this.series.forEach((s, i) => {
      const color = s.color || c.series[i % c.series.length];
      const pts = s.points.filter(([, v]) => v !== null && isFinite(v));
      if (!pts.length) return;
      const dim = this.opts.highlight && s.name !== this.opts.highlight;
      ctx.globalAlpha = dim ? 0.35 : 1;
      if (this.opts.area && this.series.length === 1) {
        const g = ctx.createLinearGradient(0, pad.top, 0, pad.top + ph);
        g.addColorStop(0, color);
        g.addColorStop(1, 'transparent');
        ctx.globalAlpha = 0.16;
        ctx.fillStyle = g;
        ctx.beginPath();
        ctx.moveTo(X(pts[0][0]), pad.top + ph);
        for (const [t, v] of pts) ctx.lineTo(X(t), Y(v));
        ctx.lineTo(X(pts[pts.length - 1][0]), pad.top + ph);
        ctx.closePath();
        ctx.fill();
        ctx.globalAlpha = 1;
      }
      ctx.strokeStyle = color;
      ctx.lineWidth = dim ? 1.2 : 1.8;
      ctx.lineJoin = 'round';
      ctx.beginPath();
      pts.forEach(([t, v], k) => { if (k) ctx.lineTo(X(t), Y(v)); else ctx.moveTo(X(t), Y(v)); });
      ctx.stroke();
      ctx.globalAlpha = 1;
    });
    if (this.hoverX !== null && this.tooltip && this.hoverX >= pad.left && this.hoverX <= w - pad.right) {
      const t = t0 + (this.hoverX - pad.left) / pw * span;
      ctx.strokeStyle = c.muted;
      ctx.setLineDash([2, 3]);
      ctx.beginPath(); ctx.moveTo(this.hoverX, pad.top); ctx.lineTo(this.hoverX, pad.top + ph); ctx.stroke();
      ctx.setLineDash([]);
      const tip = this.tooltip;
      tip.textContent = '';
      tip.appendChild(el('h3', null, this.opts.clock ? new Date(t).toLocaleTimeString() : isoMinute(t)));
      const rows = [];
      this.series.forEach((s) => {
        let best = null;
        for (const p of s.points) if (p[1] !== null && isFinite(p[1]) && (!best || Math.abs(p[0] - t) < Math.abs(best[0] - t))) best = p;
        if (best) rows.push([s.name, fmt(best[1])]);
      });
      tip.appendChild(rowTable(rows));
      placeTooltip(tip, this.wrap, this.hoverX, this.hoverY);
    }
  }
}

