// #/dataset/NAME : the dataset's partitions as a grid, live.
import { getAll } from './api.js';
import { h, replace, debounce } from './dom.js';
import { subscribe, partitionChanges } from './events.js';
import { Grid } from './grid.js';
import { STATES } from './states.js';
import { healthBar, legend, errorBox, hrefPartition, partitionLink } from './ui.js';

const ATTENTION_MAX = 60;

export function renderDataset(main, name) {
  const status = h('span', { class: 'muted', id: 'grid-status' }, 'loading…');
  const bar = h('div', { class: 'bar-wrap' });
  const gridBox = h('div', { class: 'grid-box', id: 'grid' });
  const attention = h('div', { class: 'attention' });
  const lineage = h('a', { class: 'button', href: `#/lineage-dataset/${encodeURIComponent(name)}` }, 'Lineage');
  replace(main, h('section', { class: 'page page-grid' },
    h('div', { class: 'page-head' },
      h('div', {}, h('div', { class: 'crumbs' }, h('a', { href: '#/' }, 'Datasets'), ' / '),
        h('h1', {}, name)),
      h('div', { class: 'actions' }, lineage)),
    bar, h('div', { class: 'grid-info' }, status), gridBox, attention));
  const ctrl = new AbortController();
  const grid = new Grid(gridBox, name, (ref) => { location.hash = hrefPartition(ref); });
  window.databuild.grid = grid;
  let loaded = 0;
  // The counts, and links to the partitions that need attention.
  const showCounts = () => {
    const c = grid.counts();
    replace(bar, healthBar(c, grid.refs.length), legend(c));
    const bad = [];
    for (let i = 0; i < grid.refs.length && bad.length < ATTENTION_MAX; i++) {
      const st = STATES[grid.status[i]];
      if (st === 'failed' || st === 'damaged') bad.push([grid.refs[i], st]);
    }
    const n = (c.failed || 0) + (c.damaged || 0);
    replace(attention, bad.length ? [
      h('h2', {}, `Failed or damaged (${n.toLocaleString('en')})`),
      h('ul', { class: 'refs cols' }, bad.map(([r, st]) => h('li', {}, partitionLink(r, st)))),
      n > bad.length ? h('p', { class: 'muted' }, `and ${(n - bad.length).toLocaleString('en')} more`) : null,
    ] : []);
  };
  const t0 = performance.now();
  const pages = [];
  getAll('partitions', 'partitions', { dataset: name }, async (items, done) => {
    pages.push(Math.round(performance.now() - t0));
    grid.add(items);
    loaded += items.length;
    replace(status, done ? `${loaded.toLocaleString('en')} partitions` : `${loaded.toLocaleString('en')} partitions, loading…`,
      grid.mode === 'calendar' ? ' · a row per month; grey: not built; click a day to open it' : ' · click a cell to open it');
    if (done) {
      showCounts();
      // painted: the frame after the last page was laid out
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      window.databuild.gridMs = { sinceNavigation: performance.now(), sinceView: performance.now() - t0, partitions: loaded, pages };
      gridBox.dataset.painted = String(loaded);
      window.databuild.ready();
    }
  }, ctrl.signal).catch((e) => {
    window.databuild.ready();
    if (e.name !== 'AbortError') replace(status, errorBox(e));
  });

  const counts = debounce(showCounts, 300);
  const unsub = subscribe((ev) => {
    let hit = false;
    for (const [ref, state] of partitionChanges(ev))
      if (ref.startsWith(name + '/')) hit = grid.set(ref, state) || hit;
    if (hit) counts();
  });
  return () => { ctrl.abort(); unsub(); grid.destroy(); if (window.databuild.grid === grid) window.databuild.grid = null; };
}

