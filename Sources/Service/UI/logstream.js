// Live logs: SSE parsed from a streamed fetch. EventSource cannot send
// Authorization; fetch can, and its body can be read as it arrives.
// Reconnects with Last-Event-ID after a drop.
import { authHeaders, tokenRejected } from './api.js';
import { sleep } from './dom.js';

export class LogStream {
  /** handlers: line(logLine), state('live' | 'reconnecting' | 'ended', detail). */
  constructor(id, handlers) {
    this.id = id;
    this.on = handlers;
    this.lastId = null;
    this.stopped = true;
    this.ended = false;
    this.controller = null;
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.ended = false;
    this.loop();
  }

  stop() {
    this.stopped = true;
    if (this.controller) this.controller.abort();
  }

  // Follows again after the stream ended (the experiment was retried).
  restart() {
    if (!this.ended) return;
    this.stopped = true;
    this.start();
  }

  async loop() {
    let backoff = 500;
    while (!this.stopped && !this.ended) {
      this.controller = new AbortController();
      const headers = authHeaders({ Accept: 'text/event-stream' });
      if (this.lastId !== null) headers['Last-Event-ID'] = this.lastId;
      try {
        const res = await fetch('/v1/experiments/' + this.id + '/logs?follow=true', {
          headers, signal: this.controller.signal, cache: 'no-store',
        });
        if (res.status === 401) { tokenRejected('logs: 401'); return; }
        if (!res.ok || !res.body) {
          let detail = 'HTTP ' + res.status;
          try { detail = (await res.json()).detail || detail; } catch (_) { /* not JSON */ }
          throw new Error(detail);
        }
        this.on.state('live');
        backoff = 500;
        const reader = res.body.getReader();
        const decoder = new TextDecoder();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let cut;
          while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, '');
            this.dispatch(block);
          }
        }
      } catch (e) {
        // stop() aborts on purpose; any other failure (a dropped connection) reconnects.
        if (this.stopped) return;
        this.on.state('reconnecting', e.message);
      }
      if (this.stopped || this.ended) return;
      this.on.state('reconnecting');
      await sleep(backoff);
      backoff = Math.min(5000, backoff * 2);
    }
  }

  dispatch(block) {
    let event = 'message', id = null;
    const data = [];
    for (const line of block.split(/\r?\n/)) {
      if (!line || line[0] === ':') continue;
      const c = line.indexOf(':');
      const field = c < 0 ? line : line.slice(0, c);
      let value = c < 0 ? '' : line.slice(c + 1);
      if (value[0] === ' ') value = value.slice(1);
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id') id = value;
    }
    if (id !== null) this.lastId = id;
    let payload = null;
    try { payload = data.length ? JSON.parse(data.join('\n')) : null; } catch (_) { return; }
    if (event === 'log' && payload) this.on.line(payload);
    else if (event === 'end') {
      this.ended = true;
      this.on.state('ended', payload && payload.status);
    }
  }
}
