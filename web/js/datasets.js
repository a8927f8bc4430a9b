// #/ : every dataset with its health bar.
import { get } from './api.js';
import { h, replace, debounce } from './dom.js';
import { subscribe } from './events.js';
import { healthBar, hrefDataset, errorBox, loading, legend } from './ui.js';

export function renderDatasets(main) {
  const list = h('div', { class: 'datasets', id: 'datasets' }, loading());
  const summary = h('div', { class: 'summary' });
  replace(main, h('section', { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', {}, 'Datasets'), summary), list));
  let stopped = false;

  async function load() {
    try {
      const { datasets } = await get('datasets');
      if (stopped) return;
      const all = {};
      let total = 0;
      const rows = datasets.map((d) => {
        total += d.partitions;
        for (const [k, v] of Object.entries(d.counts)) all[k] = (all[k] || 0) + v;
        return h('a', { class: 'dataset-row', href: hrefDataset(d.name), 'data-dataset': d.name },
          h('span', { class: 'dataset-name' }, d.name),
          h('span', { class: 'dataset-count' }, `${d.partitions.toLocaleString('en')} partition${d.partitions === 1 ? '' : 's'}`,
            d.partitions ? h('span', { class: 'pct' }, `${Math.floor((100 * (d.counts.live || 0)) / d.partitions)}% live`) : null),
          healthBar(d.counts, d.partitions),
          legend(d.counts));
      });
      replace(list, rows.length ? rows : h('p', { class: 'empty' }, 'The catalog holds no partitions yet. Build one with `databuild build REF`, or go to a ref above.'));
      replace(summary, `${datasets.length} dataset${datasets.length === 1 ? '' : 's'} · ${total.toLocaleString('en')} partitions`,
        healthBar(all, total));
    } catch (e) {
      if (!stopped) replace(list, errorBox(e));
    }
  }
  load();
  const reload = debounce(load, 400);
  const unsub = subscribe((ev) => { if (ev.ref || ev.type === 'build_finished') reload(); });
  return () => { stopped = true; unsub(); };
}
