// #/lineage/REF and #/lineage-dataset/NAME : the lineage graph, laid out
// by dagre (cytoscape-dagre) and drawn by cytoscape, coloured by state.
import { get } from './api.js';
import { h, replace } from './dom.js';
import { subscribe, partitionChanges } from './events.js';
import { COLOURS, STATES, stateOf } from './states.js';
import { errorBox, loading, hrefPartition, hrefDataset, dot } from './ui.js';

let libs = null;
async function cytoscapeWithDagre() {
  if (!libs) {
    libs = Promise.all([import('/assets/vendor/cytoscape.mjs'), import('/assets/vendor/cytoscape-dagre.mjs')])
      .then(([cy, dagre]) => { cy.default.use(dagre.default); return cy.default; });
    libs.catch(() => { libs = null; });
  }
  return libs;
}

// The node's label: its dataset, then the rest of the ref.
function label(ref, dataset) {
  const rest = ref.startsWith(dataset + '/') ? ref.slice(dataset.length + 1) : ref;
  return `${dataset}\n${rest}`;
}

export function renderLineage(main, what, key) {
  const box = h('div', { class: 'lineage', id: 'lineage' }, loading('Laying out…'));
  const info = h('p', { class: 'muted' });
  const title = what === 'ref' ? key : `${key} (dataset)`;
  replace(main, h('section', { class: 'page' },
    h('div', { class: 'crumbs' }, h('a', { href: '#/' }, 'Datasets'), ' / ',
      what === 'ref' ? h('a', { href: hrefPartition(key) }, key) : h('a', { href: hrefDataset(key) }, key), ' /'),
    h('div', { class: 'page-head' }, h('h1', {}, 'Lineage of ', h('span', { class: 'ref-title' }, title)),
      h('ul', { class: 'legend' }, STATES.map((s) => h('li', {}, dot(s), ` ${s}`)))),
    info, box));
  let cy = null;
  let stopped = false;
  (async () => {
    try {
      const [graph, cytoscape] = await Promise.all([
        get('graph', what === 'ref' ? { ref: key } : { dataset: key }), cytoscapeWithDagre()]);
      if (stopped) return;
      box.replaceChildren();
      info.textContent = `${graph.nodes.length} partitions, ${graph.edges.length} edges` +
        (graph.truncated ? ' (truncated: the API sends at most 2000 nodes)' : '') +
        '. Inputs on the left; click a partition to open it.';
      const elements = [];
      for (const n of graph.nodes) {
        const text = label(n.ref, n.dataset);
        const lines = text.split('\n');
        elements.push({ data: { id: n.ref, label: text, state: stateOf(n.status), focus: n.ref === key ? 1 : 0,
          w: Math.max(...lines.map((l) => l.length)) * 6.7 + 24, h: lines.length * 14 + 18 } });
      }
      for (const e of graph.edges)
        elements.push({ data: { id: `${e.from}\u0000${e.to}`, source: e.from, target: e.to, dep: e.dep_type } });
      cy = cytoscape({
        container: box,
        elements,
        style: [
          { selector: 'node', style: {
            shape: 'round-rectangle', width: 'data(w)', height: 'data(h)',
            label: 'data(label)', 'text-wrap': 'wrap', 'text-valign': 'center', 'text-halign': 'center',
            'font-size': 11, 'font-family': 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace',
            color: '#212529', 'background-color': '#ffffff', 'border-width': 3,
            'border-color': (n) => COLOURS[n.data('state')] } },
          ...STATES.map((s) => ({ selector: `node[state = "${s}"]`, style: {
            'background-color': s === 'missing' ? '#f8f9fa' : COLOURS[s], 'background-opacity': s === 'missing' ? 1 : 0.16 } })),
          { selector: 'node[focus = 1]', style: { 'border-width': 5, 'font-weight': 'bold' } },
          { selector: 'edge', style: {
            width: 1.5, 'curve-style': 'bezier', 'target-arrow-shape': 'triangle',
            'line-color': '#adb5bd', 'target-arrow-color': '#adb5bd' } },
          { selector: 'edge[dep = "query"]', style: { 'line-style': 'dashed' } },
        ],
        layout: { name: 'dagre', rankDir: 'LR', nodeSep: 18, rankSep: 70, edgeSep: 10 },
      });
      cy.on('tap', 'node', (e) => { location.hash = hrefPartition(e.target.id()); });
      box.dataset.nodes = String(graph.nodes.length);
      window.databuild.cy = cy;
    } catch (e) {
      if (!stopped) replace(box, errorBox(e));
    }
  })();
  const unsub = subscribe((ev) => {
    if (!cy) return;
    for (const [ref, state] of partitionChanges(ev)) {
      const n = cy.getElementById(ref);
      if (n.nonempty()) n.data('state', state);
    }
  });
  return () => { stopped = true; unsub(); if (cy) cy.destroy(); };
}
