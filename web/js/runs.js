// #/runs : the newest runs, kept current by the event stream;
// #/run/ID : one run and its log.
import { get } from './api.js';
import { h, replace, formatTime, formatDuration } from './dom.js';
import { subscribe } from './events.js';
import { logView } from './log.js';
import { runBadge, partitionLink, errorBox, loading, hrefRun } from './ui.js';

const KEEP = 200;
let sinceKnown;

// The runs of the page's session, newest first, fed by the event stream.
export const runStore = {
  runs: new Map(),   // run_id -> run (as /api/runs shows it, or built from events)
  listeners: new Set(),
  // the sequence number the run list starts after, once app.js knows it
  since: new Promise((resolve) => { sinceKnown = resolve; }),
  setSince(seq) { sinceKnown(seq); },
  loading: null,     // the load of the recent runs, started by the first #/runs
  put(r) {
    this.runs.set(r.run_id, { ...(this.runs.get(r.run_id) || {}), ...r });
    if (this.runs.size > KEEP * 2) {
      const ids = [...this.runs.keys()].sort((a, b) => Number(a) - Number(b));
      for (const id of ids.slice(0, this.runs.size - KEEP)) this.runs.delete(id);
    }
  },
  list() { return [...this.runs.values()].sort((a, b) => Number(b.run_id) - Number(a.run_id)); },
  changed() { for (const fn of this.listeners) fn(); },
  event(ev) {
    const p = ev.payload || {};
    if (!ev.run_id) return;
    if (ev.type === 'job_started') {
      this.put({ run_id: ev.run_id, build_id: ev.build_id, job: p.job, status: 'running',
        start_us: ev.time_us, end_us: null, host: p.host, outputs: p.outputs || [] });
    } else if (ev.type === 'job_finished') {
      this.put({ run_id: ev.run_id, status: 'succeeded', end_us: ev.time_us });
    } else if (ev.type === 'job_failed') {
      this.put({ run_id: ev.run_id, status: 'failed', end_us: ev.time_us, error: p.error || null });
    } else if (ev.type.startsWith('job_')) {
      const s = ev.type.slice(4);
      if (s === 'cancelled' || s === 'skipped' || s === 'timed_out')
        this.put({ run_id: ev.run_id, status: s, end_us: ev.time_us });
      else return;
    } else {
      return;
    }
    this.changed();
  },
};

// The runs that started after sequence number `after` (the recent ones).
export async function loadRecentRuns(after) {
  let cursor = after;
  for (let i = 0; i < 50; i++) {
    const page = await get('runs', { after: cursor, limit: 10000 });
    for (const r of page.runs) runStore.put(r);
    if (page.next === null || !page.runs.length) break;
    cursor = page.next;
  }
  runStore.changed();
}

function runRow(r) {
  return h('tr', { 'data-run': r.run_id, 'data-status': r.status },
    h('td', {}, h('a', { href: hrefRun(r.run_id) }, r.run_id)),
    h('td', {}, r.job || '—'),
    h('td', {}, runBadge(r.status || 'running')),
    h('td', {}, h('div', { class: 'outs' }, (r.outputs || []).slice(0, 3).map((o) => partitionLink(o)),
      (r.outputs || []).length > 3 ? h('span', { class: 'muted' }, ` +${r.outputs.length - 3} more`) : null)),
    h('td', {}, formatTime(r.start_us)),
    h('td', {}, r.end_us ? formatDuration(r.end_us - r.start_us) : h('span', { class: 'spinner' }, 'running')));
}

export function renderRuns(main) {
  const tbody = h('tbody', {});
  const note = h('p', { class: 'muted' });
  replace(main, h('section', { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', {}, 'Runs'), note),
    h('table', { class: 'runs', id: 'runs' },
      h('thead', {}, h('tr', {}, ['run', 'job', 'status', 'outputs', 'started', 'took'].map((t) => h('th', {}, t)))),
      tbody)));
  const draw = () => {
    const runs = runStore.list().slice(0, KEEP);
    replace(tbody, runs.map(runRow));
    note.textContent = runs.length
      ? `The ${runs.length} newest runs, live from the event stream.`
      : 'No runs yet. They appear here as they start.';
  };
  draw();
  runStore.listeners.add(draw);
  if (!runStore.loading)
    runStore.loading = runStore.since.then((seq) => loadRecentRuns(seq));
  runStore.loading.catch((e) => { runStore.loading = null; note.textContent = e.message; });
  return () => runStore.listeners.delete(draw);
}

export function renderRun(main, id) {
  const body = h('div', {}, loading());
  replace(main, h('section', { class: 'page' }, body));
  let log = null;
  let stopped = false;
  async function load() {
    try {
      const r = await get(`runs/${encodeURIComponent(id)}`);
      if (stopped) return;
      if (!log) log = logView(id);
      replace(body,
        h('div', { class: 'crumbs' }, h('a', { href: '#/runs' }, 'Runs'), ' /'),
        h('div', { class: 'page-head' }, h('h1', {}, `Run ${r.run_id}`),
          h('div', { class: 'actions' }, runBadge(r.status))),
        r.error ? h('div', { class: 'reason' }, r.error) : null,
        h('div', { class: 'card' }, h('dl', {},
          h('dt', {}, 'job'), h('dd', {}, r.job),
          h('dt', {}, 'build'), h('dd', {}, String(r.build_id ?? '—')),
          h('dt', {}, 'host'), h('dd', {}, `${r.host || '—'} (pid ${r.pid ?? '—'})`),
          h('dt', {}, 'started'), h('dd', {}, formatTime(r.start_us)),
          h('dt', {}, 'took'), h('dd', {}, r.end_us ? formatDuration(r.end_us - r.start_us) : 'running'),
          h('dt', {}, 'exit status'), h('dd', {}, r.exit_status === null ? '—' : String(r.exit_status)),
          h('dt', {}, 'outputs'), h('dd', {}, h('ul', { class: 'refs' }, (r.outputs || []).map((o) => h('li', {}, partitionLink(o))))),
          h('dt', {}, 'args'), h('dd', {}, h('code', {}, JSON.stringify((r.config || {}).args || []))))),
        log.el);
    } catch (e) {
      if (!stopped) replace(body, errorBox(e));
    }
  }
  load();
  const unsub = subscribe((ev) => { if (ev.run_id === id && ev.type.startsWith('job_')) load(); });
  return () => { stopped = true; unsub(); if (log) log.stop(); };
}
