// The experiment page: its parts (summary and controls, progress tree,
// resources, logs, chart, results, events) and the polling that feeds them.
import { api, readOnly } from './api.js';
import { $, Poller, banner, confirmDialog, h, toast } from './dom.js';
import { ACTIVE, CONTROLS, TERMINAL } from './lifecycle.js';
import { EventsPanel, ResourcesPanel } from './experiment-activity.js';
import { ChartPanel } from './experiment-chart.js';
import { LogPanel } from './experiment-logs.js';
import { ResultsPanels } from './experiment-results.js';
import { Summary } from './experiment-summary.js';
import { ProgressTree } from './experiment-tree.js';

export class ExperimentView {
  constructor(id, params) {
    this.id = id;
    this.exp = null;
    this.lastStage = undefined;
    this.summary = new Summary(id, (action) => this.act(action));
    this.tree = new ProgressTree();
    this.resources = new ResourcesPanel(id);
    this.logPanel = new LogPanel(id);
    this.chart = new ChartPanel(id, params, (symbol, tf) => this.results.highlight(symbol + ' · ' + tf));
    this.results = new ResultsPanels(id);
    this.events = new EventsPanel(id);
    this.poll = new Poller(500, () => this.refresh());
    this.slowPoll = new Poller(1000, () => this.refreshSlow());
  }

  // For the browser tests and the console.
  get logs() { return this.logPanel.stream; }
  get candles() { return this.chart.candles; }
  get equity() { return this.results.equity; }

  render() {
    return h('div', { class: 'experiment', dataset: { id: this.id } },
      h('div', { class: 'crumbs' }, h('a', { href: '#/' }, 'Experiments'), ' / ', h('span', { class: 'mono' }, this.id)),
      this.summary.render(),
      h('div', { class: 'grid2' }, this.tree.render(), this.resources.render()),
      this.logPanel.render(),
      this.chart.render(),
      h('div', { class: 'grid2' }, this.results.render()),
      this.events.render());
  }

  start() {
    this.poll.start();
    this.slowPoll.start();
    this.logPanel.start();
    this.chart.start();
    this.results.start();
    this.resources.start();
    this.summary.refreshControls();
  }

  stop() {
    this.poll.stop();
    this.slowPoll.stop();
    this.logPanel.stop();
  }

  /** Repaints the canvases (after a theme switch). */
  redraw() {
    if (this.candles) this.candles.draw();
    if (this.equity) this.equity.draw();
    this.resources.draw();
  }

  refreshControls() { this.summary.refreshControls(); }

  // The experiment and its progress tree, every 500 ms.
  async refresh() {
    let exp;
    try {
      exp = await api('GET', '/v1/experiments/' + this.id);
    } catch (e) {
      if (e.status === 404) this.gone(e.message);
      else banner(e.message);
      return;
    }
    banner('');
    const before = this.exp ? this.exp.status : null;
    this.show(exp);
    let tree = null;
    try { tree = await api('GET', '/v1/experiments/' + this.id + '/progress'); } catch (_) { /* shown next time */ }
    if (tree) this.tree.show(tree, exp);
    if (before !== exp.status) this.statusChanged(before, exp.status);
    else if (exp.stage !== this.lastStage && !this.chart.loadedFor) this.chart.load(false);
    this.lastStage = exp.stage;
    // Finished: the page is complete; look again every few seconds (someone may retry it).
    this.poll.ms = TERMINAL.has(exp.status) ? 3000 : 500;
  }

  show(exp) {
    this.exp = exp;
    this.summary.show(exp);
  }

  gone(message) {
    this.stop();
    const main = $('#main');
    main.textContent = '';
    main.appendChild(h('section', { class: 'panel', id: 'not-found' }, h('h1', null, 'Not found'),
      h('p', { class: 'muted' }, message), h('a', { href: '#/' }, '← all experiments')));
  }

  async refreshSlow() {
    const finished = this.exp && TERMINAL.has(this.exp.status);
    await Promise.all([this.events.load(), this.resources.load(finished)]);
    this.slowPoll.ms = this.exp && TERMINAL.has(this.exp.status) ? 5000 : 1000;
  }

  statusChanged(before, now) {
    if (!TERMINAL.has(now)) this.logPanel.restart();
    if (before === null || TERMINAL.has(now) || ACTIVE.has(now) !== ACTIVE.has(before || '')) {
      this.slowPoll.ms = 1000;
      this.slowPoll.now();
    }
    if (before === null) this.chart.fillOptions(this.exp);
    if (TERMINAL.has(now) || before === null || now === 'paused') {
      this.chart.load(false);
      this.results.highlighted = this.chart.symbol + ' · ' + this.chart.timeframe;
      this.results.load();
    }
  }

  /** A button: pause, resume, cancel, retry, pin, unpin or delete. */
  async act(action) {
    if (this.summary.busy) return;
    if (action === 'delete') return this.remove();
    this.summary.setBusy(true);
    try {
      const e = await api('POST', '/v1/experiments/' + this.id + '/' + action);
      if (e && e.id === this.id && e.status) {
        const before = this.exp ? this.exp.status : null;
        this.show(e);
        if (before !== e.status) this.statusChanged(before, e.status);
      }
      toast(action === 'pin' ? 'pinned: retention keeps it' : action === 'unpin' ? 'unpinned' : action + ': ' + (e && e.status ? e.status : 'done'));
    } catch (e) {
      // A 403 on a control means this token cannot control anything; on a pin, only that.
      if (e.status === 403 && CONTROLS.includes(action)) readOnly(e.message);
      else toast(action + ' refused: ' + e.message);
    } finally {
      this.summary.setBusy(false);
      this.poll.now();
    }
  }

  /** Delete, after a confirmation; a run that is not finished is cancelled first (`?cancel=true`). */
  async remove() {
    const exp = this.exp;
    if (!exp) return;
    const running = !TERMINAL.has(exp.status);
    const ok = await confirmDialog({
      id: 'delete-dialog',
      title: 'Delete \u2018' + exp.name + '\u2019?',
      text: (running ? 'It is ' + exp.status + ': it will be cancelled first. ' : '') +
        'Its logs, events, signals, report and files are removed for good.',
      confirm: running ? 'Cancel and delete' : 'Delete',
      danger: true,
    });
    if (!ok) return;
    this.summary.setBusy(true);
    try {
      await api('DELETE', '/v1/experiments/' + this.id + (running ? '?cancel=true' : ''));
    } catch (e) {
      if (e.status !== 404) {
        toast('delete refused: ' + e.message);
        this.summary.setBusy(false);
        return;
      }
    }
    this.stop();
    toast('deleted \u2018' + exp.name + '\u2019');
    location.hash = '#/';
  }
}
