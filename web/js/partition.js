// #/partition/REF : status, manifest, inputs and downstream, runs, the
// log, its versions, and the build and taint buttons.
import { get, post, refPath } from './api.js';
import { h, replace, debounce, formatTime, formatDuration, formatSize } from './dom.js';
import { subscribe, eventTouches } from './events.js';
import { logView } from './log.js';
import {
  badge, runBadge, partitionLink, errorBox, loading, hrefDataset, hrefLineage, hrefRun,
  confirmDialog, toast,
} from './ui.js';

function field(name, value) {
  return [h('dt', {}, name), h('dd', {}, value ?? '—')];
}

function mono(text) { return text ? h('code', { class: 'hash', title: text }, text) : '—'; }
// The first 12 hex digits, the whole hash on hover (tables with many rows).
function short(text) { return text ? h('code', { title: text }, text.slice(0, 12)) : '—'; }

export function renderPartition(main, ref) {
  const body = h('div', { class: 'partition' }, loading());
  replace(main, h('section', { class: 'page' }, body));
  let log = null;
  let logRun = null;
  let stopped = false;

  function runsTable(runs, chosen, choose) {
    if (!runs.length) return h('p', { class: 'muted' }, 'No run has produced it yet.');
    return h('table', { class: 'runs' },
      h('thead', {}, h('tr', {}, ['run', 'job', 'status', 'started', 'took', 'host', ''].map((t) => h('th', {}, t)))),
      h('tbody', {}, runs.map((r) => h('tr', { class: r.run_id === chosen ? 'chosen' : '' },
        h('td', {}, h('a', { href: hrefRun(r.run_id) }, r.run_id)),
        h('td', {}, r.job),
        h('td', {}, runBadge(r.status)),
        h('td', {}, formatTime(r.start_us)),
        h('td', {}, r.end_us ? formatDuration(r.end_us - r.start_us) : 'running'),
        h('td', {}, r.host || '—'),
        h('td', {}, h('button', { class: 'link', onclick: () => choose(r.run_id), 'data-log': r.run_id }, 'log'))))));
  }

  // Every publish, rollback and run-cache restore (docs/design/history.md),
  // newest first; their bytes are under the mount's .databuild/history/.
  function versionsTable(versions) {
    if (!versions.length) return h('p', { class: 'muted' }, 'Never published.');
    return h('table', { class: 'versions' },
      h('thead', {}, h('tr', {}, ['version', 'run', 'size', 'sha256', 'build key', ''].map((t) => h('th', {}, t)))),
      h('tbody', {}, versions.map((v) => h('tr', { class: v.current ? 'chosen' : '' },
        h('td', {}, h('code', {}, v.name)),
        h('td', {}, h('a', { href: hrefRun(v.run_id) }, v.run_id)),
        h('td', {}, formatSize(v.size)),
        h('td', {}, short(v.sha256)),
        h('td', {}, short(v.build_key)),
        h('td', {}, v.current ? h('span', { class: 'muted' }, 'current') : '')))));
  }

  async function load() {
    let d;
    try {
      d = await get(`partitions/${refPath(ref)}`);
    } catch (e) {
      if (!stopped) replace(body, h('h1', { class: 'ref-title' }, ref), errorBox(e));
      return;
    }
    if (stopped) return;
    const p = d.partition;
    const m = d.manifest;
    const inCatalog = p.status !== 'missing';
    const buildBtn = h('button', { class: 'primary', id: 'build', onclick: () => build() },
      p.status === 'live' ? 'Rebuild if stale' : 'Build');
    const taintBtn = h('button', { class: 'danger', id: 'taint', disabled: !inCatalog, onclick: () => taint(),
      title: inCatalog ? 'mark it tainted: its next read or build rebuilds it' : 'not in the catalog' }, 'Taint');
    const latest = d.runs.length ? d.runs[d.runs.length - 1].run_id : null;
    const chosen = logRun && d.runs.some((r) => r.run_id === logRun) ? logRun : latest;
    const logSlot = h('div', { class: 'log-slot' });
    const choose = (id) => {
      if (log) log.stop();
      logRun = id;
      log = logView(id);
      replace(logSlot, log.el);
      for (const tr of body.querySelectorAll('table.runs tr')) tr.classList.remove('chosen');
      const btn = body.querySelector(`button[data-log="${CSS.escape(id)}"]`);
      if (btn) btn.closest('tr').classList.add('chosen');
    };
    replace(body,
      h('div', { class: 'crumbs' }, h('a', { href: '#/' }, 'Datasets'), ' / ',
        h('a', { href: hrefDataset(p.dataset) }, p.dataset), ' /'),
      h('div', { class: 'page-head' },
        h('h1', { class: 'ref-title' }, ref),
        h('div', { class: 'actions' }, badge(p.status), buildBtn, taintBtn,
          h('a', { class: 'button', href: hrefLineage(ref) }, 'Lineage'))),
      d.reason ? h('div', { class: 'reason' }, h('strong', {}, `Why it is ${p.status}: `), d.reason) : null,
      h('div', { class: 'cards' },
        h('div', { class: 'card' }, h('h2', {}, 'Partition'),
          h('dl', {},
            field('status', badge(p.status)),
            field('job', p.job),
            field('version', p.version),
            field('size', inCatalog ? formatSize(p.size) : null),
            field('sha256', mono(p.sha256)),
            field('build key', mono(p.build_key)),
            field('published by run', p.published_run ? h('a', { href: hrefRun(p.published_run) }, p.published_run) : null),
            field('updated', inCatalog ? formatTime(p.updated_us) : null))),
        h('div', { class: 'card' }, h('h2', {}, `Inputs (${d.inputs.length})`),
          d.inputs.length ? h('ul', { class: 'refs' }, d.inputs.map((i) =>
            h('li', {}, partitionLink(i.ref, i.status), h('span', { class: 'muted' }, ` ${i.dep_type}`))))
            : h('p', { class: 'muted' }, m ? 'None: a source of the graph.' : 'Not known until it is built.'),
          h('h2', {}, `Downstream (${d.downstream.length})`),
          d.downstream.length ? h('ul', { class: 'refs' }, d.downstream.map((i) => h('li', {}, partitionLink(i.ref, i.status))))
            : h('p', { class: 'muted' }, 'Nothing is built from it yet.'))),
      h('h2', {}, 'Runs'),
      runsTable(d.runs, chosen, choose),
      logSlot,
      h('h2', {}, `Versions (${d.versions.length})`),
      versionsTable(d.versions),
      m ? h('details', { class: 'manifest' }, h('summary', {}, 'Manifest'),
        h('pre', {}, JSON.stringify(m, null, 2))) : null);
    if (chosen && (chosen !== logRun || !log)) choose(chosen);
    else if (chosen && log) replace(logSlot, log.el);
  }

  async function build() {
    const { ok } = await confirmDialog({
      title: 'Build this partition?',
      text: `databuild will build ${ref} and whatever it needs that is missing or stale.`,
      ok: 'Build',
    });
    if (!ok) return;
    try {
      const b = await post('builds', { refs: [ref] });
      toast(`build ${b.id} started`);
    } catch (e) {
      toast(e.message, 'bad');
    }
  }

  async function taint() {
    const { ok, checked } = await confirmDialog({
      title: 'Taint this partition?',
      text: `${ref} will be marked tainted: it is rebuilt the next time it is read or built.`,
      ok: 'Taint',
      option: 'also mark everything built from it stale',
    });
    if (!ok) return;
    try {
      const r = await post('taint', { refs: [ref], downstream: checked });
      toast(`${r.changed.length} partition${r.changed.length === 1 ? '' : 's'} changed`);
      load();
    } catch (e) {
      toast(e.message, 'bad');
    }
  }

  load();
  const reload = debounce(load, 150);
  const unsub = subscribe((ev) => { if (eventTouches(ev, ref)) reload(); });
  return () => { stopped = true; unsub(); if (log) log.stop(); };
}
