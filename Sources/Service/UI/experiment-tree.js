// The experiment page's progress tree: pipeline → stage → step → substep,
// updated in place.
import { bar, h, pill, setBar, setPill, setText } from './dom.js';
import { fmtCompact, fmtCount, pct } from './format.js';

export class ProgressTree {
  constructor() { this.nodes = new Map(); }

  render() {
    this.tree = h('div', { class: 'tree', id: 'progress-tree' });
    return h('section', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', null, 'Progress')), this.tree);
  }

  /** Shows `root` (the API's tree); `exp` orders the stages and tells a paused run. */
  show(root, exp) {
    const order = [];
    const walk = (n, depth) => {
      order.push([n, depth]);
      for (const c of n.children || []) walk(c, depth + 1);
    };
    if (root) {
      // Stages in the experiment's order (stored trees come sorted by path).
      const stages = (exp && exp.request && exp.request.stages) || [];
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
      setBar(r.bar, status === 'running' && exp && exp.status === 'paused' ? 'paused' : status, n.percent || 0);
      setText(r.pct, pct(n.percent));
      const meta = [];
      if (n.units_total !== null && n.units_total !== undefined) meta.push(fmtCount(n.units_done) + ' / ' + fmtCount(n.units_total));
      else if (n.units_done) meta.push(fmtCount(n.units_done));
      if (n.rate && status === 'running') meta.push(fmtCompact(n.rate) + '/s');
      if (n.eta_seconds !== null && n.eta_seconds !== undefined && status === 'running') meta.push('eta ' + Math.ceil(n.eta_seconds) + ' s');
      setText(r.meta, meta.join(' · '));
      const next = prev ? prev.row.nextSibling : this.tree.firstChild;
      if (next !== r.row) this.tree.insertBefore(r.row, next);
      prev = r;
    }
    for (const [path, r] of this.nodes) if (!seen.has(path)) { r.row.remove(); this.nodes.delete(path); }
  }
}
