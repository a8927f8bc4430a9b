// The one event stream of the page (GET /api/events, Server-Sent
// Events). Views subscribe while they are shown; the browser reconnects
// by itself and resumes after the last event it saw (Last-Event-ID).
const subscribers = new Set();
let source = null;

export function subscribe(fn) {
  subscribers.add(fn);
  return () => subscribers.delete(fn);
}

// Starts the stream after sequence number `after`; indicator shows its state.
export function startEvents(after, indicator) {
  if (source) source.close();
  source = new EventSource(`/api/events?after=${encodeURIComponent(after)}`);
  const show = (state, text) => {
    indicator.dataset.state = state;
    indicator.textContent = text;
  };
  show('connecting', 'connecting');
  source.onopen = () => show('open', 'live');
  source.onerror = () => show('error', source.readyState === EventSource.CLOSED ? 'disconnected' : 'reconnecting');
  source.onmessage = (msg) => {
    let ev;
    try { ev = JSON.parse(msg.data); } catch { return; }
    for (const fn of subscribers) {
      try { fn(ev); } catch (e) { console.error(e); }
    }
  };
}

// The partitions whose state an event changes: [[ref, state], ...].
export function partitionChanges(ev) {
  const p = ev.payload || {};
  switch (ev.type) {
  case 'job_started':
    return (Array.isArray(p.outputs) ? p.outputs : []).map((r) => [r, 'building']);
  case 'partition_published':
    return ev.ref ? [[ev.ref, 'live']] : [];
  case 'partition_failed':
    return ev.ref ? [[ev.ref, 'failed']] : [];
  default:
    if (!ev.ref) return [];
    if (ev.type.includes('taint')) return [[ev.ref, 'tainted']];
    if (ev.type.includes('damage')) return [[ev.ref, 'damaged']];
    if (ev.type.includes('stale')) return [[ev.ref, 'stale']];
    return [];
  }
}

// Whether an event concerns ref (its ref, or one of a job's outputs).
export function eventTouches(ev, ref) {
  if (ev.ref === ref) return true;
  const o = ev.payload && ev.payload.outputs;
  return Array.isArray(o) && o.includes(ref);
}
