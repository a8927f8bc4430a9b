// The partition grid of a dataset: one canvas that paints only the rows
// in view, so 100,000 partitions cost what a screenful does. Refs with a
// `KEY=YYYY-MM-DD` segment are laid out as a calendar (a row per month
// and series, a column per day; days between a series' first and last
// partition that are not in the catalog show as missing); any other refs
// fill rows in ref order.
import { COLOURS, STATES, STATE_INDEX } from './states.js';

const PITCH = 16;     // a cell and its gap, in the flat layout (the calendar's fill the width)
const GAP = 3;
const HEAD = 22;
const DATE_SEG = /^([^=]+)=(\d{4})-(\d{2})-(\d{2})$/;
const MISSING = STATE_INDEX.missing;
const OUTSIDE = -2;   // a day of a month before the first or after the last partition
const ABSENT = -1;    // a day in range that the catalog does not hold

function daysIn(y, m) { return new Date(Date.UTC(y, m, 0)).getUTCDate(); }
const pad2 = (n) => String(n).padStart(2, '0');

export class Grid {
  // parent: an element to fill; dataset: its name; onOpen(ref): a cell was chosen
  constructor(parent, dataset, onOpen) {
    this.dataset = dataset;
    this.prefix = dataset + '/';
    this.onOpen = onOpen;
    this.refs = [];
    this.status = new Uint8Array(1024);
    this.index = new Map();      // ref -> position in refs
    this.extra = new Map();      // refs not in the catalog that events moved: ref -> state
    this.rows = [];
    this.mode = null;            // 'calendar' | 'flat'
    this.dateSeg = -1;
    this.scroller = document.createElement('div');
    this.scroller.className = 'grid-scroll';
    this.spacer = document.createElement('div');
    this.spacer.className = 'grid-spacer';
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'grid-canvas';
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute('aria-label', `partitions of ${dataset}`);
    this.tip = document.createElement('div');
    this.tip.className = 'grid-tip';
    this.tip.hidden = true;
    this.scroller.append(this.canvas, this.spacer);
    parent.append(this.scroller, this.tip);
    this.ctx = this.canvas.getContext('2d', { alpha: false });
    this.pending = false;
    this.scroller.addEventListener('scroll', () => this.paint(), { passive: true });
    this.canvas.addEventListener('mousemove', (e) => this.hover(e));
    this.canvas.addEventListener('mouseleave', () => { this.tip.hidden = true; });
    this.canvas.addEventListener('click', (e) => {
      const hit = this.hit(e);
      if (hit) this.onOpen(hit.ref);
    });
    this.resizeObserver = new ResizeObserver(() => { this.layout(); this.paint(); });
    this.resizeObserver.observe(this.scroller);
  }

  destroy() { this.resizeObserver.disconnect(); }

  // Appends partitions (in ref order) as /api/partitions lists them.
  add(partitions) {
    const need = this.refs.length + partitions.length;
    if (need > this.status.length) {
      const s = new Uint8Array(Math.max(need, this.status.length * 2));
      s.set(this.status);
      this.status = s;
    }
    for (const p of partitions) {
      const i = this.refs.length;
      this.refs.push(p.ref);
      this.index.set(p.ref, i);
      this.status[i] = STATE_INDEX[p.status] ?? MISSING;
    }
    this.layout();
    this.paint();
  }

  counts() {
    const c = Object.fromEntries(STATES.map((s) => [s, 0]));
    for (let i = 0; i < this.refs.length; i++) c[STATES[this.status[i]]]++;
    return c;
  }

  // An event moved ref to state: true if the grid shows ref.
  set(ref, state) {
    const i = this.index.get(ref);
    if (i !== undefined) this.status[i] = STATE_INDEX[state] ?? MISSING;
    else if (this.mode === 'calendar' && ref.startsWith(this.prefix)) this.extra.set(ref, state);
    else return false;
    this.paint();
    return true;
  }

  stateOf(ref) {
    const i = this.index.get(ref);
    if (i !== undefined) return STATES[this.status[i]];
    return this.extra.get(ref) || 'missing';
  }

  layout() {
    const width = this.scroller.clientWidth || 800;
    this.width = width;
    if (this.mode === null && this.refs.length) {
      const segs = this.refs[0].slice(this.prefix.length).split('/');
      this.dateSeg = segs.findIndex((s) => DATE_SEG.test(s));
      this.mode = this.dateSeg >= 0 ? 'calendar' : 'flat';
    }
    if (this.mode === 'calendar' && !this.layoutCalendar()) this.mode = 'flat';
    if (this.mode !== 'calendar') this.layoutFlat(width);
    const content = HEAD + this.rowCount() * this.rowPx + 8;
    this.spacer.style.height = `${content}px`;
    // as tall as the rows, at most the window
    this.scroller.style.height = `min(calc(100vh - 250px), ${Math.max(content, 60)}px)`;
  }

  rowCount() { return this.mode === 'calendar' ? this.rows.length : this.flatRows; }

  // Cells of pitch px; rows a little taller than a cell.
  size(pitch) {
    this.pitch = pitch;
    this.cellPx = pitch - GAP;
    this.rowPx = pitch + 2;
  }

  layoutFlat(width) {
    this.size(PITCH);
    this.labelWidth = 96;
    const fit = Math.max(8, Math.floor((width - this.labelWidth - 16) / this.pitch));
    this.cols = fit >= 20 ? fit - (fit % 10) : fit;   // a round number a row
    this.flatRows = Math.ceil(this.refs.length / this.cols);
  }

  // Rows per series and month; false if some ref has no date segment.
  layoutCalendar() {
    const series = new Map();   // series key -> {key, pre, post, dates: Map(yyyymm -> Int32Array)}
    for (let i = 0; i < this.refs.length; i++) {
      const segs = this.refs[i].slice(this.prefix.length).split('/');
      const m = segs.length > this.dateSeg ? DATE_SEG.exec(segs[this.dateSeg]) : null;
      if (!m) return false;
      const pre = segs.slice(0, this.dateSeg).join('/');
      const post = segs.slice(this.dateSeg + 1).join('/');
      const key = `${pre}\u0000${m[1]}\u0000${post}`;
      let s = series.get(key);
      if (!s) {
        s = { pre, post, name: m[1], months: new Map(), first: null, last: null };
        series.set(key, s);
      }
      const ym = `${m[2]}-${m[3]}`;
      let days = s.months.get(ym);
      if (!days) {
        days = new Int32Array(31).fill(OUTSIDE);
        s.months.set(ym, days);
      }
      days[Number(m[4]) - 1] = i;
      const date = `${ym}-${m[4]}`;
      if (s.first === null || date < s.first) s.first = date;
      if (s.last === null || date > s.last) s.last = date;
    }
    const rows = [];
    const keys = [...series.keys()].sort();
    for (const key of keys) {
      const s = series.get(key);
      const label = [s.pre, s.post].filter(Boolean).join(' · ');
      if (label || keys.length > 1) rows.push({ kind: 'series', label: label || '(no series)' });
      // every month from the first to the last, gaps included
      let [y, m] = s.first.split('-').map(Number);
      const [ly, lm] = s.last.split('-').map(Number);
      while (y < ly || (y === ly && m <= lm)) {
        const ym = `${y}-${pad2(m)}`;
        const days = s.months.get(ym) || new Int32Array(31).fill(OUTSIDE);
        const n = daysIn(y, m);
        for (let d = 0; d < n; d++) {
          const date = `${ym}-${pad2(d + 1)}`;
          if (days[d] === OUTSIDE && date > s.first && date < s.last) days[d] = ABSENT;
        }
        rows.push({ kind: 'month', label: ym, series: s, ym, n, days });
        if (++m > 12) { m = 1; y++; }
      }
    }
    this.rows = rows;
    this.labelWidth = 110;
    this.cols = 31;
    this.size(Math.max(PITCH, Math.min(28, Math.floor((this.width - this.labelWidth - 24) / 31))));
    return true;
  }

  // The ref and state of a cell: {ref, state} or null.
  cell(row, col) {
    if (this.mode === 'calendar') {
      const r = this.rows[row];
      if (!r || r.kind !== 'month' || col >= r.n) return null;
      const i = r.days[col];
      if (i >= 0) return { ref: this.refs[i], state: STATES[this.status[i]], known: true };
      const s = r.series;
      const seg = `${s.name}=${r.ym}-${pad2(col + 1)}`;
      const ref = this.prefix + [s.pre, seg, s.post].filter(Boolean).join('/');
      return { ref, state: this.extra.get(ref) || 'missing', outside: i === OUTSIDE && !this.extra.has(ref) };
    }
    const i = row * this.cols + col;
    if (col >= this.cols || i >= this.refs.length) return null;
    return { ref: this.refs[i], state: STATES[this.status[i]], known: true };
  }

  // Where the cell of ref is, in client coordinates (for tests and focus), or null.
  cellRect(ref) {
    const rows = this.rowCount();
    for (let row = 0; row < rows; row++) {
      for (let col = 0; col < this.cols; col++) {
        const c = this.cell(row, col);
        if (c && c.ref === ref) {
          const top = HEAD + row * this.rowPx;
          if (top < this.scroller.scrollTop || top + this.rowPx > this.scroller.scrollTop + this.scroller.clientHeight)
            this.scroller.scrollTop = Math.max(0, top - this.scroller.clientHeight / 2);
          const b = this.canvas.getBoundingClientRect();
          return { x: b.left + this.labelWidth + col * this.pitch, y: b.top + top - this.scroller.scrollTop,
                   width: this.cellPx, height: this.cellPx };
        }
      }
    }
    return null;
  }

  hit(e) {
    const b = this.canvas.getBoundingClientRect();
    const x = e.clientX - b.left - this.labelWidth;
    const y = e.clientY - b.top + this.scroller.scrollTop - HEAD;
    if (x < 0 || y < 0 || x % this.pitch > this.cellPx || y % this.rowPx > this.cellPx + 2) return null;
    return this.cell(Math.floor(y / this.rowPx), Math.floor(x / this.pitch));
  }

  hover(e) {
    const c = this.hit(e);
    this.canvas.style.cursor = c ? 'pointer' : 'default';
    if (!c) { this.tip.hidden = true; return; }
    this.tip.textContent = '';
    const ref = document.createElement('div');
    ref.className = 'tip-ref';
    ref.textContent = c.ref;
    const st = document.createElement('div');
    st.className = `tip-state s-${c.state}`;
    st.textContent = c.outside ? 'missing (outside the built range)' : c.state;
    this.tip.append(ref, st);
    this.tip.hidden = false;
    const pb = this.tip.parentElement.getBoundingClientRect();
    this.tip.style.left = `${e.clientX - pb.left + 14}px`;
    this.tip.style.top = `${e.clientY - pb.top + 14}px`;
  }

  // Paints the rows in view on the next frame.
  paint() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => { this.pending = false; this.draw(); });
  }

  draw() {
    const dpr = window.devicePixelRatio || 1;
    const w = this.scroller.clientWidth;
    const hgt = this.scroller.clientHeight;
    if (!w || !hgt) return;
    if (this.canvas.width !== Math.round(w * dpr) || this.canvas.height !== Math.round(hgt * dpr)) {
      this.canvas.width = Math.round(w * dpr);
      this.canvas.height = Math.round(hgt * dpr);
      this.canvas.style.width = `${w}px`;
      this.canvas.style.height = `${hgt}px`;
    }
    const g = this.ctx;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.fillStyle = '#ffffff';
    g.fillRect(0, 0, w, hgt);
    const top = this.scroller.scrollTop;
    const first = Math.max(0, Math.floor((top - HEAD) / this.rowPx));
    const last = Math.min(this.rowCount(), Math.ceil((top + hgt) / this.rowPx) + 1);
    g.font = '11px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace';
    g.textBaseline = 'middle';
    for (let row = first; row < last; row++) {
      const y = HEAD + row * this.rowPx - top;
      this.drawRow(g, row, y);
    }
    // the header stays on top
    g.fillStyle = '#ffffff';
    g.fillRect(0, 0, w, HEAD - 4);
    g.fillStyle = '#868e96';
    if (this.mode === 'calendar') {
      g.textAlign = 'center';
      for (let d = 0; d < 31; d++)
        if (d === 0 || (d + 1) % 5 === 0) g.fillText(String(d + 1), this.labelWidth + d * this.pitch + this.cellPx / 2, HEAD / 2 - 2);
      g.textAlign = 'left';
      g.fillText('month', 4, HEAD / 2 - 2);
    } else {
      g.textAlign = 'left';
      g.fillText(`${this.refs.length.toLocaleString('en')} partitions, ${this.cols} a row`, 4, HEAD / 2 - 2);
    }
    this.painted = true;
  }

  drawRow(g, row, y) {
    if (this.mode === 'calendar') {
      const r = this.rows[row];
      if (r.kind === 'series') {
        g.fillStyle = '#343a40';
        g.font = '600 12px system-ui, sans-serif';
        g.textAlign = 'left';
        g.fillText(r.label, 4, y + this.cellPx / 2 + 1, this.width - 8);
        g.font = '11px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace';
        return;
      }
      g.fillStyle = '#495057';
      g.textAlign = 'left';
      g.fillText(r.ym, 4, y + this.cellPx / 2 + 1);
      for (let d = 0; d < r.n; d++) {
        const c = this.cell(row, d);
        this.drawCell(g, this.labelWidth + d * this.pitch, y, c);
      }
      return;
    }
    const i0 = row * this.cols;
    g.fillStyle = '#495057';
    g.textAlign = 'left';
    const label = this.refs[i0].slice(this.prefix.length);
    g.fillText(label, 4, y + this.cellPx / 2 + 1, this.labelWidth - 12);
    const n = Math.min(this.cols, this.refs.length - i0);
    let colour = null;
    for (let c = 0; c < n; c++) {
      const s = COLOURS[STATES[this.status[i0 + c]]];
      if (s !== colour) { g.fillStyle = s; colour = s; }
      g.fillRect(this.labelWidth + c * this.pitch, y, this.cellPx, this.cellPx);
    }
  }

  drawCell(g, x, y, c) {
    const n = this.cellPx;
    g.beginPath();
    g.roundRect(x + 0.5, y + 0.5, n - 1, n - 1, 3);
    if (c.outside) {
      g.strokeStyle = '#e9ecef';
      g.lineWidth = 1;
      g.stroke();
      return;
    }
    g.fillStyle = COLOURS[c.state] || COLOURS.missing;
    g.fill();
    if (c.state === 'missing') {
      g.strokeStyle = '#adb5bd';
      g.lineWidth = 1;
      g.stroke();
    }
  }
}
