// Partition states (DESIGN.md "Partition states") and their colours; the
// CSS uses the same colours through the .s-STATE classes.
export const STATES = ['live', 'stale', 'tainted', 'building', 'failed', 'damaged', 'missing'];

export const COLOURS = {
  live: '#2f9e44',
  stale: '#f2b600',
  tainted: '#f76707',
  building: '#4c8ef7',
  failed: '#e03131',
  damaged: '#9c36b5',
  missing: '#dee2e6',
};

export const STATE_INDEX = Object.fromEntries(STATES.map((s, i) => [s, i]));

export function stateOf(s) {
  return s in COLOURS ? s : 'missing';
}
