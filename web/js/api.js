// The JSON API (docs/api.md). The token travels in the HttpOnly cookie
// that /?token=... set; a POST carries the page's Origin, as the server
// requires of cookie requests.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function reply(r) {
  let body = null;
  try { body = await r.json(); } catch { body = null; }
  if (!r.ok) {
    let msg = body && typeof body.error === 'string' ? body.error : `HTTP ${r.status}`;
    if (r.status === 401) msg += ' — open the link that `databuild serve` printed (/?token=…)';
    throw new ApiError(r.status, msg);
  }
  return body;
}

function url(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {}))
    if (v !== null && v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return `/api/${path}${s ? `?${s}` : ''}`;
}

// A ref as a path under /api/partitions/: each segment percent-encoded.
export function refPath(ref) {
  return ref.split('/').map(encodeURIComponent).join('/');
}

export async function get(path, params, opts) {
  return reply(await fetch(url(path, params), { credentials: 'same-origin', ...opts }));
}

export async function post(path, body) {
  return reply(await fetch(url(path), {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  }));
}

// Every page of a paged list: calls onPage(items, done) after each page.
// The cursor is read from the end of a page's text, so the next page is
// on its way while this one is parsed.
export async function getAll(path, key, params, onPage, signal) {
  const fetchPage = async (after) => {
    const r = await fetch(url(path, { ...params, limit: 10000, after }), { credentials: 'same-origin', signal });
    if (!r.ok) return reply(r);
    return r.text();
  };
  let text = await fetchPage(null);
  for (;;) {
    const m = /"next":((?:"(?:[^"\\]|\\.)*")|null|-?\d+)\}\s*$/.exec(text);
    const next = m ? JSON.parse(m[1]) : undefined;
    const pending = next !== null && next !== undefined ? fetchPage(next) : null;
    if (pending) pending.catch(() => {});
    const page = JSON.parse(text);
    const done = page.next === null || page.next === undefined || page[key].length === 0;
    await onPage(page[key], done);
    if (done) return;
    text = pending && next === page.next ? await pending : await fetchPage(page.next);
  }
}

// The start sequence of the newest run (0: no run yet), found with
// /api/runs?after=X&limit=1 (not empty iff a run started after X):
// doubling, then bisection; about 2 log2(N) small requests.
export async function lastRunSeq(signal) {
  const any = async (x) => (await get('runs', { after: x, limit: 1 }, { signal })).runs.length > 0;
  if (!(await any(0))) return 0;
  let lo = 0, hi = 1024;
  while (await any(hi)) { lo = hi; hi *= 4; }
  // a run starts after lo, none after hi
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (await any(mid)) lo = mid; else hi = mid;
  }
  return hi;
}
