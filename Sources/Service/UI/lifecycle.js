// What the page may offer for an experiment. The server decides: an
// experiment resource carries `allowed_actions` (["pause", "cancel"], …);
// the rules below are only the fallback for a server without that field.

export const STATUSES = ['queued', 'running', 'pausing', 'paused', 'cancelling', 'succeeded', 'failed', 'cancelled', 'interrupted'];
export const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);
export const ACTIVE = new Set(['running', 'pausing', 'cancelling']);

/** The controls, in the order the page shows them. */
export const CONTROLS = ['pause', 'resume', 'cancel', 'retry'];

// The lifecycle as it was before the server said it (fallback only).
const FALLBACK = {
  pause: new Set(['running']),
  resume: new Set(['paused', 'pausing']),
  cancel: new Set(['queued', 'interrupted', 'running', 'pausing', 'paused']),
  retry: new Set(['failed', 'cancelled', 'interrupted']),
};

/**
 * The actions an experiment allows now, as a Set: the resource's
 * `allowed_actions` when present, else the fallback rules for its status;
 * plus, when the server knows pins (the resource has `pinned`), 'pin' or
 * 'unpin' and 'delete' (delete of a run that is not finished cancels it first).
 * Scope is not considered here (see api.js `may`).
 */
export function allowedActions(exp) {
  if (!exp) return new Set();
  const out = new Set();
  const listed = Array.isArray(exp.allowed_actions);
  if (listed) for (const a of exp.allowed_actions) out.add(a);
  else for (const a of CONTROLS) if (FALLBACK[a].has(exp.status)) out.add(a);
  if (typeof exp.pinned === 'boolean') {
    // The server lists these itself once it knows them; otherwise pins and delete are always possible.
    const knowsHistory = listed && exp.allowed_actions.some((a) => a === 'pin' || a === 'unpin' || a === 'delete');
    if (!knowsHistory) {
      out.add(exp.pinned ? 'unpin' : 'pin');
      out.add('delete');
    }
  } else {
    // A server without pins has no delete either (both came with issue 15).
    for (const a of ['pin', 'unpin', 'delete']) out.delete(a);
  }
  return out;
}

/** The scope an action needs. */
export function scopeFor(action) {
  return action === 'delete' ? 'admin' : 'operate';
}
