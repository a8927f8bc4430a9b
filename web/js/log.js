// A run's log, streamed as it grows (GET /api/runs/ID/log?follow=1).
import { h } from './dom.js';

// Returns {el, stop}: el fills with the log of run id; stop ends the stream.
export function logView(id) {
  const pre = h('pre', { class: 'log', id: 'log', 'data-run': id });
  const state = h('span', { class: 'log-state muted' }, 'following…');
  const el = h('div', { class: 'log-box' },
    h('div', { class: 'log-head' }, h('span', {}, `log of run ${id}`), state,
      h('a', { href: `/api/runs/${encodeURIComponent(id)}/log`, target: '_blank', rel: 'noopener' }, 'raw')),
    pre);
  const ctrl = new AbortController();
  (async () => {
    try {
      const r = await fetch(`/api/runs/${encodeURIComponent(id)}/log?follow=1`,
        { credentials: 'same-origin', signal: ctrl.signal });
      if (!r.ok) {
        let msg = `HTTP ${r.status}`;
        try { msg = (await r.json()).error || msg; } catch { /* not JSON */ }
        state.textContent = msg;
        return;
      }
      const reader = r.body.getReader();
      const dec = new TextDecoder();
      for (;;) {
        const { value, done } = await reader.read();
        const text = done ? dec.decode() : dec.decode(value, { stream: true });
        if (text) {
          const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
          pre.append(document.createTextNode(text));
          if (atEnd) pre.scrollTop = pre.scrollHeight;
        }
        if (done) break;
      }
      state.textContent = pre.textContent ? 'complete' : 'complete (empty)';
      pre.dataset.complete = 'true';
    } catch (e) {
      if (e.name !== 'AbortError') state.textContent = `stream ended: ${e.message}`;
    }
  })();
  return { el, stop: () => ctrl.abort() };
}
