// The experiment page's head: name, state, priority, the controls (pause,
// resume, cancel, retry, pin/unpin, delete), progress, facts and error.
import { may, session } from './api.js';
import { bar, h, pill, setBar, setPill, setText } from './dom.js';
import { dateTime, duration, pct } from './format.js';
import { allowedActions, scopeFor } from './lifecycle.js';

const LABELS = {
  pause: '❚❚ Pause', resume: '▶ Resume', cancel: '■ Cancel', retry: '↻ Retry',
  pin: 'Pin', unpin: 'Unpin', delete: 'Delete',
};
const TITLES = {
  pin: 'Keep it: retention never deletes a pinned experiment',
  unpin: 'Let retention delete it when it is old',
  delete: 'Delete the experiment and everything it owns',
};

export class Summary {
  /** act(action): what a button does (the page calls the API). */
  constructor(id, act) {
    this.id = id;
    this.act = act;
    this.exp = null;
    this.busy = false;
  }

  render() {
    const E = (this.el = {});
    E.name = h('h1', { id: 'exp-name' }, '…');
    E.status = pill('queued', 'status');
    E.prio = h('span', { class: 'prio' });
    E.pinned = h('span', { class: 'pin-mark', id: 'exp-pinned', title: 'Pinned: retention keeps it', hidden: true }, 'pinned');
    E.buttons = {};
    const controls = h('div', { class: 'controls', id: 'controls' },
      Object.keys(LABELS).map((a) => {
        const cls = a === 'cancel' ? 'danger' : a === 'delete' ? 'danger-solid' : '';
        const b = h('button', {
          type: 'button', id: 'btn-' + a, class: cls, disabled: true, hidden: true, dataset: { action: a },
          onclick: () => this.act(a),
        }, LABELS[a]);
        E.buttons[a] = b;
        return b;
      }));
    E.bar = bar('queued', 0, true);
    E.bar.id = 'exp-progress';
    E.pct = h('span', { class: 'pct', id: 'exp-percent' }, '0 %');
    E.facts = h('dl', { class: 'facts' });
    E.error = h('div', { class: 'error-box', id: 'exp-error', hidden: true });
    E.note = h('p', { class: 'note', id: 'control-note', hidden: true });
    return h('section', { class: 'panel hero' },
      h('div', { class: 'hero-top' }, E.name, E.status, E.prio, E.pinned, controls),
      h('div', { class: 'hero-progress' }, E.bar, E.pct),
      E.facts, E.error, E.note);
  }

  show(e) {
    this.exp = e;
    const E = this.el;
    document.title = e.name + ' · SignalForge';
    setText(E.name, e.name);
    setPill(E.status, e.status);
    E.prio.className = 'prio ' + e.priority;
    setText(E.prio, e.priority + ' priority');
    E.pinned.hidden = e.pinned !== true;
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

  /**
   * Shows the buttons the experiment allows now (hides the others); a token
   * whose scope is too small sees them disabled, with the reason. Delete is
   * for admin tokens only: others do not see it.
   */
  refreshControls() {
    const E = this.el;
    if (!E || !E.buttons) return;
    const allowed = allowedActions(this.exp);
    const status = this.exp ? this.exp.status : null;
    const ro = session.scope === 'read';
    for (const [a, b] of Object.entries(E.buttons)) {
      const ok = allowed.has(a);
      const permitted = may(scopeFor(a));
      b.hidden = !ok || (a === 'delete' && !permitted);
      b.disabled = this.busy || !ok || !permitted;
      b.dataset.allowed = String(ok);
      b.title = !permitted ? 'Needs a token with scope ' + scopeFor(a) : ok ? (TITLES[a] || '') : 'Not possible while ' + status;
    }
    E.note.hidden = !ro;
    setText(E.note, ro ? 'Read-only: ' + (session.scopeReason || 'this token cannot control experiments') + '.' : '');
  }

  setBusy(busy) {
    this.busy = busy;
    this.refreshControls();
  }
}
