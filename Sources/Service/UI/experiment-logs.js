// The experiment page's live logs: a level filter, follow, and the stream.
import { h } from './dom.js';
import { clock } from './format.js';
import { LogStream } from './logstream.js';

export class LogPanel {
  constructor(id) {
    this.count = 0;
    this.stream = new LogStream(id, {
      line: (l) => this.add(l),
      state: (s, detail) => this.streamState(s, detail),
    });
  }

  render() {
    this.logs = h('div', { class: 'logs min-info', id: 'logs' }, h('div', { class: 'placeholder' }, 'Waiting for log lines…'));
    this.state = h('span', { class: 'stream-state', id: 'log-stream' }, 'connecting…');
    const level = h('select', { id: 'log-level', 'aria-label': 'Minimum level', onchange: () => { this.logs.className = 'logs min-' + level.value; } },
      ['debug', 'info', 'warning', 'error'].map((l) => h('option', { value: l, selected: l === 'info' }, l + (l === 'debug' ? ' and up' : '+'))));
    this.follow = h('input', { type: 'checkbox', checked: true });
    return h('section', { class: 'panel' },
      h('div', { class: 'panel-head' }, h('h2', null, 'Logs'), this.state,
        h('div', { class: 'tools' }, h('label', null, 'Level', level), h('label', null, this.follow, 'Follow'))),
      this.logs);
  }

  start() { this.stream.start(); }
  stop() { this.stream.stop(); }
  /** Follows again after the stream ended (the experiment was retried). */
  restart() { this.stream.restart(); }

  add(l) {
    const L = this.logs;
    if (this.count === 0) L.textContent = '';
    this.count++;
    const atBottom = L.scrollHeight - L.scrollTop - L.clientHeight < 40;
    const fields = l.fields && typeof l.fields === 'object'
      ? Object.entries(l.fields).map(([k, v]) => k + '=' + (typeof v === 'string' ? v : JSON.stringify(v))).join(' ') : '';
    L.appendChild(h('div', { class: 'line lvl-' + l.level, dataset: { id: String(l.id) } },
      h('time', { datetime: l.ts, title: l.ts }, clock(l.ts)),
      h('span', { class: 'lvl' }, l.level),
      h('span', { class: 'stg' }, l.stage || ''),
      h('span', { class: 'msg' }, l.message, fields ? h('span', { class: 'fields' }, '  ' + fields) : null)));
    while (L.childElementCount > 5000) L.firstElementChild.remove();
    L.dataset.count = String(this.count);
    if (this.follow.checked && atBottom) L.scrollTop = L.scrollHeight;
  }

  streamState(state, detail) {
    const s = this.state;
    s.className = 'stream-state' + (state === 'live' ? ' live' : '');
    s.dataset.state = state;
    if (state === 'live') s.textContent = '● live';
    else if (state === 'ended') s.textContent = 'ended (' + (detail || 'finished') + ')';
    else s.textContent = 'reconnecting…' + (detail ? ' ' + detail : '');
  }
}
