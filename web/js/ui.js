// Pieces that several views share: state badges, the health bar, links,
// errors, the confirmation dialog.
import { h } from './dom.js';
import { COLOURS, STATES, stateOf } from './states.js';

export const hrefDataset = (d) => `#/dataset/${encodeURIComponent(d)}`;
export const hrefPartition = (r) => `#/partition/${encodeURIComponent(r)}`;
export const hrefLineage = (r) => `#/lineage/${encodeURIComponent(r)}`;
export const hrefRun = (id) => `#/run/${encodeURIComponent(id)}`;

export function badge(state) {
  const s = stateOf(state);
  return h('span', { class: `badge s-${s}`, 'data-state': s }, s);
}

export function dot(state) {
  return h('span', { class: `dot s-${stateOf(state)}`, title: stateOf(state) });
}

export function runBadge(status) {
  return h('span', { class: `badge r-${status}` }, status);
}

export function partitionLink(ref, state) {
  return h('a', { href: hrefPartition(ref), class: 'ref' }, state ? dot(state) : null, ref);
}

// A stacked bar of counts by state; total: the number of partitions.
export function healthBar(counts, total) {
  const bar = h('div', { class: 'health', role: 'img' });
  const parts = [];
  for (const s of STATES) {
    const n = counts[s] || 0;
    if (!n) continue;
    parts.push(`${n} ${s}`);
    bar.append(h('span', {
      class: `seg s-${s}`,
      style: { flexGrow: String(n), backgroundColor: COLOURS[s] },
      title: `${n.toLocaleString('en')} ${s}`,
    }));
  }
  if (!total) bar.append(h('span', { class: 'seg empty', style: { flexGrow: '1' } }));
  bar.setAttribute('aria-label', parts.join(', ') || 'no partitions');
  return bar;
}

export function legend(counts) {
  return h('ul', { class: 'legend' }, STATES.filter((s) => counts[s]).map((s) =>
    h('li', {}, dot(s), h('span', { class: 'legend-n' }, (counts[s] || 0).toLocaleString('en')), ` ${s}`)));
}

export function errorBox(e) {
  return h('div', { class: 'error', role: 'alert' }, h('strong', {}, 'Error: '), e.message || String(e));
}

export function loading(text) {
  return h('div', { class: 'loading' }, text || 'Loading…');
}

// Asks for confirmation in the page's dialog: resolves {ok, checked}.
export function confirmDialog({ title, text, ok, option }) {
  const dlg = document.getElementById('confirm');
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-ok').textContent = ok || 'OK';
  const opt = document.getElementById('confirm-option');
  const check = document.getElementById('confirm-check');
  opt.hidden = !option;
  check.checked = false;
  document.getElementById('confirm-check-text').textContent = option || '';
  dlg.returnValue = '';
  return new Promise((resolve) => {
    dlg.addEventListener('close', () => resolve({ ok: dlg.returnValue === 'ok', checked: check.checked }),
      { once: true });
    dlg.showModal();
  });
}

// Shows a short message at the bottom of the page.
export function toast(text, kind) {
  const t = h('div', { class: `toast ${kind || ''}`, role: 'status' }, text);
  document.body.append(t);
  setTimeout(() => t.remove(), 5000);
}
