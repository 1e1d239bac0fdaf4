/**
 * A self-contained SVG line chart of agreement against the amount of further training T: one
 * line per method (a <path> each), an optional shaded confidence band (a <polygon> each), axes
 * with ticks, and a legend. No external fonts, scripts or styles.
 */
import escapeHtml from 'escape-html';

export interface ChartPoint {
  x: number;
  y: number;
  /** Confidence interval, drawn as a band when both are given. */
  lo?: number;
  hi?: number;
}

export interface ChartSeries {
  name: string;
  points: ChartPoint[];
}

export interface ChartOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  width?: number;
  height?: number;
  /** Fixed y range; default from the data (including intervals). */
  yRange?: [number, number];
  /** Log-scaled x axis (all x > 0). */
  logX?: boolean;
}

const PALETTE = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#17becf',
  '#7f7f7f',
  '#bcbd22',
];

/** Round tick values covering [lo, hi] with steps 1, 2 or 5 × 10^k. */
export function niceTicks(lo: number, hi: number, target = 6): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) {
    out.push(Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)));
  }
  return out;
}

function fmt(v: number): string {
  return Number(v.toPrecision(4)).toString();
}

export function lineChart(series: ChartSeries[], opts: ChartOptions = {}): string {
  if (series.length === 0) throw new Error('a chart needs at least one series');
  const width = opts.width ?? 720;
  const height = opts.height ?? 420;
  const legendW = 170;
  const m = { left: 64, right: legendW + 16, top: opts.title ? 40 : 16, bottom: 52 };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const all = series.flatMap((s) => s.points);
  for (const s of series) {
    for (const p of s.points) {
      if (!Number.isFinite(p.x)) throw new Error(`series "${s.name}" has a non-finite x value`);
      if (opts.logX && p.x <= 0)
        throw new Error(`log x axis needs x > 0; series "${s.name}" has ${p.x}`);
    }
  }
  const fx = (x: number) => (opts.logX ? Math.log10(x) : x);
  const xs = all.map((p) => fx(p.x));
  let x0 = Math.min(...xs);
  let x1 = Math.max(...xs);
  if (x0 === x1) {
    x0 -= 1;
    x1 += 1;
  }
  const ys = all.flatMap((p) => [p.y, p.lo, p.hi]).filter((v): v is number => Number.isFinite(v));
  let [y0, y1] = opts.yRange ?? [Math.min(...ys, 0), Math.max(...ys, 1)];
  if (!(y1 > y0)) {
    y0 -= 1;
    y1 += 1;
  }
  const sx = (x: number) => m.left + ((fx(x) - x0) / (x1 - x0)) * pw;
  const sy = (y: number) => m.top + ph - ((Math.min(Math.max(y, y0), y1) - y0) / (y1 - y0)) * ph;
  const n = (v: number) => v.toFixed(2);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
  );
  parts.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  if (opts.title) {
    parts.push(
      `<text x="${n(m.left + pw / 2)}" y="22" text-anchor="middle" font-size="15">${escapeHtml(opts.title)}</text>`,
    );
  }
  // Grid and ticks.
  const yTicks = niceTicks(y0, y1);
  for (const t of yTicks) {
    const y = n(sy(t));
    parts.push(
      `<line class="grid" x1="${m.left}" x2="${m.left + pw}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`,
    );
    parts.push(
      `<line class="tick" x1="${m.left - 5}" x2="${m.left}" y1="${y}" y2="${y}" stroke="#333"/>`,
    );
    parts.push(
      `<text x="${m.left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${fmt(t)}</text>`,
    );
  }
  const xTickValues = opts.logX
    ? niceTicks(x0, x1)
        .filter((e) => Number.isInteger(e))
        .map((e) => 10 ** e)
    : [...new Set(all.map((p) => p.x))].sort((a, b) => a - b).length <= 12
      ? [...new Set(all.map((p) => p.x))].sort((a, b) => a - b)
      : niceTicks(x0, x1);
  for (const t of xTickValues) {
    const x = n(sx(t));
    parts.push(
      `<line class="tick" x1="${x}" x2="${x}" y1="${m.top + ph}" y2="${m.top + ph + 5}" stroke="#333"/>`,
    );
    parts.push(`<text x="${x}" y="${m.top + ph + 18}" text-anchor="middle">${fmt(t)}</text>`);
  }
  // Axes.
  parts.push(
    `<line class="axis" x1="${m.left}" x2="${m.left + pw}" y1="${m.top + ph}" y2="${m.top + ph}" stroke="#333"/>`,
  );
  parts.push(
    `<line class="axis" x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${m.top + ph}" stroke="#333"/>`,
  );
  if (opts.xLabel) {
    parts.push(
      `<text x="${n(m.left + pw / 2)}" y="${height - 12}" text-anchor="middle">${escapeHtml(opts.xLabel)}</text>`,
    );
  }
  if (opts.yLabel) {
    const cy = n(m.top + ph / 2);
    parts.push(
      `<text x="16" y="${cy}" text-anchor="middle" transform="rotate(-90 16 ${cy})">${escapeHtml(opts.yLabel)}</text>`,
    );
  }
  // Bands first, so lines sit on top.
  series.forEach((s, k) => {
    const color = PALETTE[k % PALETTE.length];
    const pts = [...s.points].sort((a, b) => a.x - b.x);
    if (pts.length > 0 && pts.every((p) => Number.isFinite(p.lo) && Number.isFinite(p.hi))) {
      const upper = pts.map((p) => `${n(sx(p.x))},${n(sy(p.hi!))}`);
      const lower = pts.reverse().map((p) => `${n(sx(p.x))},${n(sy(p.lo!))}`);
      parts.push(
        `<polygon class="band" points="${[...upper, ...lower].join(' ')}" fill="${color}" fill-opacity="0.15" stroke="none"/>`,
      );
    }
  });
  series.forEach((s, k) => {
    const color = PALETTE[k % PALETTE.length];
    const pts = [...s.points].filter((p) => Number.isFinite(p.y)).sort((a, b) => a.x - b.x);
    const d = pts.map((p, i) => `${i === 0 ? 'M' : 'L'}${n(sx(p.x))},${n(sy(p.y))}`).join(' ');
    parts.push(
      `<path class="series" data-name="${escapeHtml(s.name)}" d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`,
    );
    for (const p of pts) {
      parts.push(`<circle cx="${n(sx(p.x))}" cy="${n(sy(p.y))}" r="3" fill="${color}"/>`);
    }
  });
  // Legend.
  const lx = width - legendW;
  series.forEach((s, k) => {
    const y = m.top + 10 + k * 20;
    const color = PALETTE[k % PALETTE.length];
    parts.push(
      `<line x1="${lx}" x2="${lx + 24}" y1="${y}" y2="${y}" stroke="${color}" stroke-width="2"/>`,
    );
    parts.push(
      `<text class="legend" x="${lx + 30}" y="${y}" dominant-baseline="middle">${escapeHtml(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** Agreement (cosine or Spearman) against T, one line per method, with bootstrap bands. */
export function agreementChart(
  results: Array<{ method: string; step: number; value: number; ci?: [number, number] }>,
  opts: ChartOptions = {},
): string {
  const byMethod = new Map<string, ChartPoint[]>();
  for (const r of results) {
    const list = byMethod.get(r.method) ?? [];
    list.push({ x: r.step, y: r.value, lo: r.ci?.[0], hi: r.ci?.[1] });
    byMethod.set(r.method, list);
  }
  return lineChart(
    [...byMethod].map(([name, points]) => ({ name, points })),
    {
      xLabel: 'further-training steps T',
      yLabel: 'agreement with gold standard',
      yRange: [-1, 1],
      ...opts,
    },
  );
}
