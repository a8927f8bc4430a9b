// The page in a real headless browser (tests/service/page.sh starts the
// server). Debian's chromium, driven by playwright-core from web/.
//
//   node page.mjs flow URL TOKEN SHOTS STATE   datasets, a dataset, build a missing
//                                              partition, watch it go live, its log,
//                                              lineage, runs; a screenshot of each
//   node page.mjs grid URL TOKEN SHOTS N       the grid of N partitions: time from
//                                              navigation to painted, then scrolling
//
// Every wait is for a condition in the DOM, with a timeout; nothing sleeps.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(join(process.env.SOURCE_ROOT, 'web', 'package.json'));
const { chromium } = require('playwright-core');

const [mode, url, token, shots, arg] = process.argv.slice(2);
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TIMEOUT = 20000;

function fail(msg) {
  throw new Error(msg);
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
const errors = [];
let exitCode = 0;
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  page.on('dialog', (d) => { errors.push(`unexpected ${d.type()} dialog: ${d.message()}`); d.dismiss(); });

  // the link serve prints: sets the cookie, sends the browser to /
  const r = await page.goto(`${url}/?token=${token}`);
  if (!r.ok()) fail(`/?token=: HTTP ${r.status()}`);
  if (new URL(page.url()).search) fail(`not sent on to /: ${page.url()}`);
  if (mode === 'flow') await flow(page, shots, arg);
  else if (mode === 'grid') await grid(page, shots, Number(arg));
  else fail(`mode '${mode}'`);
  if (errors.length) fail(`the page reported errors:\n  ${errors.join('\n  ')}`);
} catch (e) {
  console.error(`FAIL: ${e.message}`);
  exitCode = 1;
} finally {
  await browser.close();
}
process.exit(exitCode);

async function shot(page, name) {
  const path = join(shots, `${name}.png`);
  await page.screenshot({ path });
  console.log(`screenshot: ${path}`);
}

// The state the partition page shows in its header.
function headState(page) {
  return page.locator('.page-head .actions .badge').first();
}

async function flow(page, shots, state) {
  // --- the datasets, each with a health bar
  await page.waitForSelector('.dataset-row[data-dataset="block"]');
  const names = await page.$$eval('.dataset-row', (rows) => rows.map((r) => r.dataset.dataset));
  for (const want of ['block', 'fail', 'left', 'raw', 'report', 'right', 'top'])
    if (!names.includes(want)) fail(`dataset '${want}' not listed: ${names}`);
  const failBar = await page.$$eval('.dataset-row[data-dataset="fail"] .health .seg', (s) => s.map((x) => x.className));
  if (!failBar.includes('seg s-failed')) fail(`fail's health bar: ${failBar}`);
  await page.waitForSelector('#stream-state[data-state="open"]');
  await shot(page, 'datasets');
  console.log('ok: datasets with health bars');

  // --- a dataset: its calendar grid
  await page.click('.dataset-row[data-dataset="block"]');
  await page.waitForSelector('#grid[data-painted="2"]');
  const mode = await page.evaluate(() => window.databuild.grid.mode);
  if (mode !== 'calendar') fail(`block's grid: mode ${mode}, expected calendar`);
  const missing = 'block/date=2024-01-02';
  const gridState = () => page.evaluate((r) => window.databuild.grid.stateOf(r), missing);
  if ((await gridState()) !== 'missing') fail(`${missing} in the grid: ${await gridState()}`);
  await shot(page, 'dataset');
  console.log('ok: a dataset as a calendar grid, a missing day among live ones');

  // --- the missing day's cell opens its partition page
  const cell = await page.evaluate((r) => window.databuild.grid.cellRect(r), missing);
  if (!cell) fail(`no cell for ${missing}`);
  await page.mouse.click(cell.x + cell.width / 2, cell.y + cell.height / 2);
  await page.waitForFunction((r) => decodeURIComponent(location.hash) === `#/partition/${r}`, missing);
  await page.waitForSelector('.page-head .actions .badge[data-state="missing"]');
  const title = await page.textContent('h1.ref-title');
  if (title !== missing) fail(`title '${title}'`);

  // --- build, confirmed in the dialog; the job waits for $STATE/go-D
  await page.click('#build');
  await page.waitForSelector('dialog#confirm[open]');
  await shot(page, 'confirm');
  await page.click('#confirm-ok');
  await page.waitForSelector('dialog#confirm', { state: 'hidden' });
  // building, then the log follows the running job
  await page.waitForSelector('.page-head .actions .badge[data-state="building"]');
  await page.waitForFunction(() => (document.querySelector('pre.log') || {}).textContent?.includes(': started'));
  await shot(page, 'partition-building');
  writeFileSync(join(state, 'go-date=2024-01-02'), '');
  await page.waitForSelector('.page-head .actions .badge[data-state="live"]');
  await page.waitForFunction(() => {
    const log = document.querySelector('pre.log');
    return log && log.dataset.complete === 'true' && log.textContent.includes(': done');
  });
  if ((await headState(page).textContent()) !== 'live') fail('not live');
  // its one version, current, listed once the stream reloaded the page
  await page.waitForSelector('table.versions tbody tr.chosen');
  if ((await page.locator('table.versions tbody tr').count()) !== 1) fail('versions: not one row');
  await shot(page, 'partition');
  console.log('ok: build a missing partition: building, then live through the event stream; its log followed; its version listed');

  // --- the dataset's grid went live by the stream, too
  await page.click('.crumbs a[href^="#/dataset/"]');
  await page.waitForSelector('#grid[data-painted="3"]');
  if ((await gridState()) !== 'live') fail(`${missing} in the grid after the build: ${await gridState()}`);

  // --- its run and its log
  await page.goBack();
  await page.waitForSelector('table.runs a[href^="#/run/"]');
  const runHref = await page.getAttribute('table.runs a[href^="#/run/"]', 'href');
  const runId = decodeURIComponent(runHref.slice('#/run/'.length));
  await page.click('table.runs a[href^="#/run/"]');
  // the run page itself (the partition page's log, of the same run, may still be there)
  await page.waitForSelector(`h1:text-is("Run ${runId}")`);
  await page.waitForSelector('pre.log[data-complete="true"]');
  const log = await page.textContent('pre.log');
  if (!log.includes(`block ${missing}: started`) || !log.includes(`block ${missing}: done`)) fail(`log: ${log}`);
  await shot(page, 'run');
  console.log('ok: the run page and its log');

  // --- the runs, live: the build's run is listed as succeeded
  await page.click('header nav a[data-nav="runs"]');
  await page.waitForSelector('#runs tr[data-status="succeeded"]');
  const jobs = await page.$$eval('#runs tbody tr', (rows) => rows.map((r) => r.children[1].textContent));
  if (!jobs.includes('block')) fail(`runs: ${jobs}`);
  await shot(page, 'runs');
  console.log('ok: the run list');

  // --- lineage, laid out by dagre
  await page.goto(`${url}/#/lineage/${encodeURIComponent('report/region=north/date=2024-01-01')}`);
  await page.waitForSelector('#lineage[data-nodes="5"]');
  const laidOut = await page.evaluate(() => {
    const xs = window.databuild.cy.nodes().map((n) => Math.round(n.position('x')));
    return new Set(xs).size;
  });
  if (laidOut < 4) fail(`lineage: ${laidOut} columns, expected raw → left/right → top → report`);
  await shot(page, 'lineage');
  console.log('ok: the lineage graph');

  // --- a ref full of markup is shown as text
  const evil = 'raw/date=<img src=x onerror=alert(1)>&amp;<b>';
  await page.goto(`${url}/#/partition/${encodeURIComponent(evil)}`);
  await page.waitForFunction((r) => document.querySelector('h1.ref-title')?.textContent === r, evil);
  await page.waitForSelector('.page-head .actions .badge[data-state="live"]');
  if (await page.$('main img, main b')) fail('markup in a ref became an element');
  await page.click('header nav a[data-nav="runs"]');
  await page.waitForFunction((r) => [...document.querySelectorAll('#runs a.ref')].some((a) => a.textContent === r), evil);
  if (await page.$('main img, main b')) fail('markup in a ref became an element in the runs');
  await page.goto(`${url}/#/dataset/raw`);
  await page.waitForSelector('#grid[data-painted="3"]');
  console.log('ok: refs with markup are text');
}

async function grid(page, shots, n) {
  await page.goto('about:blank');
  await page.goto(`${url}/#/dataset/bulk`);
  await page.waitForSelector(`#grid[data-painted="${n}"]`, { timeout: 60000 });
  const t = await page.evaluate(() => window.databuild.gridMs);
  await shot(page, 'grid-100k');
  // scroll through it: each frame paints only the rows in view
  const frames = await page.evaluate(async () => {
    const g = window.databuild.grid;
    const s = g.scroller;
    const times = [];
    for (let i = 0; i <= 40; i++) {
      s.scrollTop = (s.scrollHeight - s.clientHeight) * (i / 40);
      await new Promise((r) => requestAnimationFrame(() => r()));
      const t0 = performance.now();
      g.draw();
      times.push(performance.now() - t0);
    }
    return { max: Math.max(...times), mean: times.reduce((a, b) => a + b, 0) / times.length };
  });
  await shot(page, 'grid-100k-end');
  console.log(`grid: ${n} partitions painted ${t.sinceNavigation.toFixed(0)} ms after navigation ` +
    `(${t.sinceView.toFixed(0)} ms after the view started; pages at ${t.pages.join(', ')} ms); ` +
    `a frame while scrolling: max ${frames.max.toFixed(1)} ms, mean ${frames.mean.toFixed(1)} ms`);
  const bound = Number(process.env.GRID_BOUND_MS || 15000);
  if (t.sinceNavigation > bound) fail(`the grid took ${t.sinceNavigation} ms (bound ${bound} ms)`);
  if (frames.max > 100) fail(`a frame of the grid took ${frames.max} ms`);
}

