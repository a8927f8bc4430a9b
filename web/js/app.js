// The page: a hash router over the views, and the one event stream.
import { lastRunSeq } from './api.js';
import { errorBox } from './ui.js';
import { startEvents, subscribe } from './events.js';
import { renderDatasets } from './datasets.js';
import { renderDataset } from './dataset.js';
import { renderPartition } from './partition.js';
import { renderLineage } from './lineage.js';
import { renderRuns, renderRun, runStore } from './runs.js';

// For tests and the curious: the grid, the graph, timings. The first
// view calls ready() once it has what it shows, and only then does the
// page look for where the event stream starts (so the two do not
// compete for the server).
let ready;
window.databuild = { grid: null, cy: null, gridMs: null, ready: () => ready() };
const firstView = new Promise((r) => { ready = r; });
setTimeout(() => ready(), 3000);

const main = document.getElementById('view');
let cleanup = null;

function route() {
  if (cleanup) cleanup();
  cleanup = null;
  const hash = location.hash.replace(/^#\/?/, '');
  const slash = hash.indexOf('/');
  const view = slash < 0 ? hash : hash.slice(0, slash);
  let arg = '';
  try {
    arg = slash < 0 ? '' : decodeURIComponent(hash.slice(slash + 1));
  } catch {
    arg = hash.slice(slash + 1);
  }
  for (const a of document.querySelectorAll('header nav a'))
    a.classList.toggle('active', a.dataset.nav === (view === 'runs' || view === 'run' ? 'runs' : 'datasets'));
  document.title = arg ? `${arg} · databuild` : 'databuild';
  window.scrollTo(0, 0);
  if (view !== 'dataset') window.databuild.ready();
  switch (view) {
  case '': cleanup = renderDatasets(main); break;
  case 'dataset': cleanup = renderDataset(main, arg); break;
  case 'partition': cleanup = renderPartition(main, arg); break;
  case 'lineage': cleanup = renderLineage(main, 'ref', arg); break;
  case 'lineage-dataset': cleanup = renderLineage(main, 'dataset', arg); break;
  case 'runs': cleanup = renderRuns(main); break;
  case 'run': cleanup = renderRun(main, arg); break;
  default:
    main.replaceChildren(errorBox(new Error(`no such view '${view}'`)));
  }
}

document.getElementById('goto').addEventListener('submit', (e) => {
  e.preventDefault();
  const ref = document.getElementById('goto-ref').value.trim();
  if (ref) location.hash = `#/partition/${encodeURIComponent(ref)}`;
});
window.addEventListener('hashchange', route);
route();

// The stream starts at the newest run's start, so that a long history is
// not replayed; the run list starts with the runs since shortly before.
subscribe((ev) => runStore.event(ev));
const indicator = document.getElementById('stream-state');
firstView.then(() => lastRunSeq()).then((seq) => {
  startEvents(Math.max(0, seq - 1), indicator);
  runStore.setSince(Math.max(0, seq - 2000));
}).catch((e) => {
  indicator.dataset.state = 'error';
  indicator.textContent = e.status === 401 ? 'no token' : 'offline';
  if (e.status === 401) main.replaceChildren(errorBox(e));
});
