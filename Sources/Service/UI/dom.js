// Shared UI pieces: element building, state pills, progress bars, toast and
// banner, and a poller.

/** An element: h('a', { class: 'x', href, onclick }, child, 'text', [more]). */
export function h(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return e;
}

export const $ = (sel, root) => (root || document).querySelector(sel);
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Sets the text only when it changed (no needless layout). */
export function setText(e, text) { if (e && e.textContent !== text) e.textContent = text; }

/** A state pill (`queued`, `running`, …). */
export function pill(status, id) {
  return h('span', { class: 'pill s-' + status, id, dataset: { status } }, status);
}
export function setPill(e, status) {
  if (!e || e.dataset.status === status) return;
  e.className = 'pill s-' + status;
  e.dataset.status = status;
  e.textContent = status;
}

/** A progress bar coloured by state. */
export function bar(status, percent, big) {
  const i = h('i');
  const b = h('div', { class: 'bar' + (big ? ' big' : '') + ' s-' + status, role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100' }, i);
  setBar(b, status, percent);
  return b;
}
export function setBar(b, status, percent) {
  const p = Math.max(0, Math.min(100, Number(percent) || 0));
  b.className = b.className.replace(/\bs-[a-z]+\b/, '').trim() + ' s-' + status;
  b.firstChild.style.width = p.toFixed(1) + '%';
  b.setAttribute('aria-valuenow', p.toFixed(0));
  b.dataset.percent = p.toFixed(1);
}

let toastTimer = null;
/** A message at the bottom right for 5 s. */
export function toast(text) {
  const t = $('#toast');
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 5000);
}

/** The error banner under the header; no text hides it. */
export function banner(text) {
  const b = $('#banner');
  b.textContent = text || '';
  b.hidden = !text;
}

/**
 * A modal confirmation (a <dialog>, not window.confirm, so the page keeps
 * running). Resolves true when the user confirms.
 */
export function confirmDialog({ id, title, text, confirm, danger }) {
  return new Promise((resolve) => {
    const dialog = h('dialog', { class: 'confirm', id: id || 'confirm-dialog' },
      h('form', { method: 'dialog' },
        h('h2', null, title),
        h('p', null, text),
        h('div', { class: 'dialog-buttons' },
          h('button', { type: 'submit', value: 'cancel', class: 'ghost', 'data-choice': 'cancel' }, 'Keep it'),
          h('button', { type: 'submit', value: 'ok', class: danger ? 'danger-solid' : 'primary', 'data-choice': 'ok' }, confirm))));
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(dialog.returnValue === 'ok');
    });
    document.body.appendChild(dialog);
    dialog.showModal();
  });
}

/**
 * A loop that calls fn every `ms` while running, never overlapping itself;
 * now() runs it at once (or right after the call in flight).
 */
export class Poller {
  constructor(ms, fn) { this.ms = ms; this.fn = fn; this.timer = null; this.running = false; this.inFlight = false; this.again = false; }
  start() {
    if (this.running) return;
    this.running = true;
    this.run();
  }
  async run() {
    clearTimeout(this.timer);
    this.timer = null;
    if (!this.running) return;
    if (this.inFlight) { this.again = true; return; }
    this.inFlight = true;
    try { await this.fn(); } catch (e) { if (e && e.name !== 'AbortError') console.warn(e); }
    this.inFlight = false;
    if (!this.running) return;
    if (this.again) { this.again = false; this.run(); return; }
    this.timer = setTimeout(() => this.run(), this.ms);
  }
  stop() { this.running = false; this.again = false; clearTimeout(this.timer); }
  now() { if (this.running) this.run(); }
}
