/** Score distributions as inline SVG histograms (no charting library, no script needed). */
import escapeHtml from 'escape-html';

export interface Histogram {
  /** bins + 1 ascending edges. */
  edges: number[];
  counts: number[];
}

export function histogram(values: ArrayLike<number>, bins = 30): Histogram {
  if (!Number.isInteger(bins) || bins < 1)
    throw new Error(`histogram bins must be a positive integer, got ${bins}`);
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo > hi) return { edges: [0, 1], counts: [0] };
  if (lo === hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  const w = (hi - lo) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => lo + i * w);
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    counts[Math.min(bins - 1, Math.floor((v - lo) / w))]++;
  }
  return { edges, counts };
}

export function fmt(x: number): string {
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 1e4 || a < 1e-3 ? x.toExponential(2) : Number(x.toPrecision(3)).toString();
}

/** An SVG bar chart of a histogram with axis labels at the ends and zero marked when in range. */
export function histogramSvg(
  h: Histogram,
  opts: { width?: number; height?: number; label?: string } = {},
): string {
  const W = opts.width ?? 360;
  const H = opts.height ?? 140;
  const pad = { l: 36, r: 8, t: 8, b: 30 };
  const max = Math.max(1, ...h.counts);
  const n = h.counts.length;
  const bw = (W - pad.l - pad.r) / n;
  const ph = H - pad.t - pad.b;
  const bars = h.counts
    .map((c, i) => {
      const bh = (c / max) * ph;
      const x = pad.l + i * bw;
      return `<rect class="bar" x="${x.toFixed(1)}" y="${(pad.t + ph - bh).toFixed(1)}" width="${Math.max(0.5, bw - 1).toFixed(1)}" height="${bh.toFixed(1)}"><title>[${fmt(h.edges[i])}, ${fmt(h.edges[i + 1])}): ${c}</title></rect>`;
    })
    .join('');
  const lo = h.edges[0];
  const hi = h.edges[n];
  let zero = '';
  if (lo < 0 && hi > 0) {
    const zx = pad.l + ((0 - lo) / (hi - lo)) * (W - pad.l - pad.r);
    zero = `<line class="zero" x1="${zx.toFixed(1)}" x2="${zx.toFixed(1)}" y1="${pad.t}" y2="${pad.t + ph}"/>`;
  }
  const y0 = pad.t + ph;
  return `<svg class="histogram" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeHtml(opts.label ?? 'histogram')}">${bars}${zero}<line class="axis" x1="${pad.l}" x2="${W - pad.r}" y1="${y0}" y2="${y0}"/><text x="${pad.l}" y="${y0 + 14}">${fmt(lo)}</text><text x="${W - pad.r}" y="${y0 + 14}" text-anchor="end">${fmt(hi)}</text><text x="${pad.l - 4}" y="${pad.t + 8}" text-anchor="end">${max}</text><text x="${pad.l - 4}" y="${y0}" text-anchor="end">0</text>${opts.label ? `<text x="${(W + pad.l) / 2}" y="${H - 2}" text-anchor="middle">${escapeHtml(opts.label)}</text>` : ''}</svg>`;
}
