// Formatting of times, durations and numbers for the web view.

/** RFC 3339 with up to microseconds (the API's form) to ms since the epoch. */
export function parseTime(iso) { return Date.parse(String(iso).replace(/(\.\d{3})\d+/, '$1')); }

/** A number with `d` decimals; '–' when there is none. */
export function fmtNum(v, d) {
  if (v === null || v === undefined || !isFinite(v)) return '–';
  return Number(v).toFixed(d);
}

/** A number in at most four significant characters and a unit (1.2k, 3.4M). */
export function fmtCompact(v) {
  if (v === null || v === undefined || !isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a >= 1e9) return (v / 1e9).toFixed(1) + 'G';
  if (a >= 1e6) return (v / 1e6).toFixed(1) + 'M';
  if (a >= 1e4) return (v / 1e3).toFixed(1) + 'k';
  if (a >= 100) return v.toFixed(0);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}

/** Milliseconds, as '850 ms' or a duration. */
export function fmtMs(ms) {
  if (ms === null || ms === undefined || !isFinite(ms)) return '–';
  if (ms < 1000) return Math.round(ms) + ' ms';
  return duration(0, ms);
}

/** How long ago an RFC 3339 time was. */
export function ago(iso) {
  if (!iso) return '–';
  const s = Math.max(0, (Date.now() - parseTime(iso)) / 1000);
  if (s < 60) return Math.floor(s) + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' min';
  if (s < 86400) return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
  return Math.floor(s / 86400) + ' d';
}

/** From one time to another (RFC 3339 strings or ms; no end: now). */
export function duration(from, to) {
  if (from === null || from === undefined || from === '') return '–';
  const end = to === null || to === undefined ? Date.now() : typeof to === 'number' ? to : parseTime(to);
  const ms = end - (typeof from === 'number' ? from : parseTime(from));
  const s = Math.max(0, ms / 1000);
  if (s < 10) return s.toFixed(1) + ' s';
  if (s < 60) return Math.round(s) + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' min ' + Math.round(s % 60) + ' s';
  return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
}

/** The local time of day with milliseconds. */
export function clock(iso) {
  if (!iso) return '–';
  const d = new Date(parseTime(iso));
  return d.toLocaleTimeString([], { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0');
}

/** The local date and time. */
export function dateTime(iso) {
  if (!iso) return '–';
  return new Date(parseTime(iso)).toLocaleString([], { hour12: false });
}

/** A count: exact below 10,000, compact above. */
export function fmtCount(v) { return Number.isInteger(v) && Math.abs(v) < 10000 ? String(v) : fmtCompact(v); }

/** A percentage with one decimal (none at 0 and 100). */
export function pct(v) { return (Number(v) || 0).toFixed(Number(v) >= 99.95 || !v ? 0 : 1) + ' %'; }

/** Bytes in MiB. */
export function fmtMiB(bytes) { return fmtCompact(bytes / 1048576) + ' MiB'; }

/** An uptime in seconds. */
export function fmtUptime(s) {
  if (s < 3600) return Math.floor(s / 60) + ' min';
  if (s < 86400) return (s / 3600).toFixed(1) + ' h';
  return (s / 86400).toFixed(1) + ' d';
}
