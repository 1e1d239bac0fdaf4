import esc from 'escape-html';
import { fmt, type Histogram, histogram, histogramSvg } from './histogram';
import { encodePng, pngDataUrl, toBytes } from './png';

/**
 * The attribution report: one self-contained HTML file (inline CSS, a few lines of inline JS,
 * images as PNG data URLs) that opens anywhere without a server or network. Input is plain
 * JSON-able data, so the pipeline's report stage can build it from stored results.
 */

export interface ReportImage {
  width: number;
  height: number;
  channels?: 1 | 3;
  /** Row-major height × width × channels values in [0, 1]. */
  pixels: ArrayLike<number>;
}

export interface ReportExample {
  id: number;
  /** The user's id for the example (`tda import --id`), shown in place of `id`. */
  key?: string;
  score?: number;
  label?: number;
  image?: ReportImage;
  text?: string;
  /** Known to have had its label flipped (label-noise experiments). */
  flipped?: boolean;
}

export interface ReportQuery {
  id: number;
  key?: string;
  givenLabel?: number;
  predictedLabel?: number;
  image?: ReportImage;
  text?: string;
  proponents: ReportExample[];
  opponents: ReportExample[];
}

export interface ReportRun {
  method: string;
  modelHash: string;
  trainCount: number;
  queryCount: number;
  checkpoints?: number;
  dataset?: string;
  createdAt?: string;
  /** Stage name → seconds. */
  timings?: Record<string, number>;
  extra?: Record<string, string | number>;
}

export interface ReportDistribution {
  name: string;
  values?: ArrayLike<number>;
  histogram?: Histogram;
}

export interface ReportMislabel extends ReportExample {
  score: number;
  givenLabel: number;
  predictedLabel?: number;
  /** The label before noise was added, when known. */
  originalLabel?: number;
}

export interface ReportMislabels {
  /** What ranks them, e.g. "TracIn self-influence". */
  method: string;
  rows: ReportMislabel[];
  /** When flipped labels are known: of `flippedTotal`, how many are found inspecting the top fraction. */
  detection?: {
    flippedTotal: number;
    inspected: { fraction: number; found: number }[];
    auc?: number;
  };
}

export interface ReportData {
  title?: string;
  classes?: string[];
  run: ReportRun;
  queries: ReportQuery[];
  distributions?: ReportDistribution[];
  mislabels?: ReportMislabels;
  /** Shown above everything (e.g. the checkpoints show a model that has not learned). */
  warnings?: string[];
}

const CSS = `
:root{--fg:#1d2330;--muted:#667085;--line:#e3e7ee;--pro:#11875d;--opp:#c4320a;--bg:#f7f8fa}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
.warning{background:#fff4e5;border:1px solid #f5a524;border-radius:6px;padding:10px 14px;margin:0 0 16px}
header{background:#1d2330;color:#fff;padding:18px 28px}header h1{margin:0 0 4px;font-size:20px}header .sub{color:#b8c0cc;font-size:13px}
main{padding:18px 28px;max-width:1400px}section{margin:0 0 28px}h2{font-size:16px;margin:0 0 10px;border-bottom:1px solid var(--line);padding-bottom:4px}
table{border-collapse:collapse;background:#fff}td,th{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:middle}th{background:#eef1f5;font-weight:600}
.run td:first-child{color:var(--muted)}code{font:12px ui-monospace,Menlo,monospace}
.cards{display:flex;flex-direction:column;gap:14px}
.query-card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:12px;display:grid;grid-template-columns:150px 1fr;gap:14px}
.query .lab{font-size:12px;color:var(--muted)}.query .wrong{color:var(--opp);font-weight:600}
.strip h3{font-size:13px;margin:2px 0 6px}.strip.proponents h3{color:var(--pro)}.strip.opponents h3{color:var(--opp)}
.row{display:flex;flex-wrap:wrap;gap:8px;align-items:flex-start}.ex{min-width:72px;font-size:11px;text-align:center}.ex.text{width:190px;text-align:left}
.ex .snip,.query .snip{background:#f2f4f7;border-radius:4px;padding:4px;max-height:84px;overflow:hidden;font-size:11px;white-space:pre-wrap;word-break:break-word}
img.px{image-rendering:pixelated;border:1px solid var(--line);background:#000;cursor:zoom-in}img.px.zoom{width:224px;height:224px;cursor:zoom-out}
.score.pos{color:var(--pro)}.score.neg{color:var(--opp)}.flip{color:#fff;background:var(--opp);border-radius:3px;padding:0 3px;font-size:10px}
.hists{display:flex;flex-wrap:wrap;gap:16px}.hist{background:#fff;border:1px solid var(--line);border-radius:8px;padding:8px}
svg.histogram .bar{fill:#4a6fa5}svg.histogram .axis{stroke:#98a2b3}svg.histogram .zero{stroke:var(--opp);stroke-dasharray:3 2}svg.histogram text{font-size:10px;fill:var(--muted)}
.muted{color:var(--muted)}`;

// Enlarges an image on click; everything else is static.
const JS = `document.addEventListener('click',function(e){var t=e.target;if(t instanceof HTMLImageElement&&t.classList.contains('px')){t.classList.toggle('zoom')}});`;

function labelName(classes: string[] | undefined, l: number | undefined): string {
  if (l === undefined) return '–';
  if (l === -1) return 'unlabeled';
  return classes?.[l] ?? String(l);
}

function imageTag(img: ReportImage, size: number, alt: string): string {
  const ch = img.channels ?? 1;
  if (img.pixels.length !== img.width * img.height * ch) {
    throw new Error(
      `report image "${alt}": ${img.pixels.length} pixel values, expected ${img.width}×${img.height}×${ch}`,
    );
  }
  const url = pngDataUrl(encodePng(toBytes(img.pixels), img.width, img.height, ch));
  return `<img class="px" src="${url}" width="${size}" height="${size}" alt="${esc(alt)}">`;
}

function scoreSpan(s: number | undefined): string {
  if (s === undefined) return '';
  return `<span class="score ${s >= 0 ? 'pos' : 'neg'}">${esc(fmt(s))}</span>`;
}

/** `#12` for a row id, the user's id as it is. */
function shownId(e: { id: number; key?: string }): string {
  return e.key ?? `#${e.id}`;
}

function keyAttr(e: { key?: string }): string {
  return e.key === undefined ? '' : ` data-key="${esc(e.key)}"`;
}

function exampleCell(e: ReportExample, classes: string[] | undefined): string {
  const flip = e.flipped ? ' <span class="flip" title="label was flipped">flipped</span>' : '';
  const body = e.image
    ? imageTag(e.image, 64, `train ${e.id}`)
    : `<div class="snip">${esc(e.text ?? '')}</div>`;
  return `<div class="ex${e.image ? '' : ' text'}" data-id="${e.id}"${keyAttr(e)}>${body}<div>${esc(shownId(e))} ${scoreSpan(e.score)}</div><div class="muted">${esc(labelName(classes, e.label))}${flip}</div></div>`;
}

function queryCard(q: ReportQuery, classes: string[] | undefined): string {
  const wrong =
    q.givenLabel !== undefined &&
    q.predictedLabel !== undefined &&
    q.givenLabel !== q.predictedLabel;
  const media = q.image
    ? imageTag(q.image, 128, `query ${q.id}`)
    : `<div class="snip">${esc(q.text ?? '')}</div>`;
  const strip = (kind: 'proponents' | 'opponents', rows: ReportExample[]): string =>
    `<div class="strip ${kind}"><h3>${kind === 'proponents' ? 'Proponents (helpful, score > 0)' : 'Opponents (harmful, score < 0)'}</h3><div class="row">${rows.map((e) => exampleCell(e, classes)).join('') || '<span class="muted">none</span>'}</div></div>`;
  return `<article class="query-card" data-query="${q.id}"><div class="query">${media}<div><b>Query ${esc(shownId(q))}</b></div><div class="lab">given: ${esc(labelName(classes, q.givenLabel))}</div><div class="lab${wrong ? ' wrong' : ''}">predicted: ${esc(labelName(classes, q.predictedLabel))}</div></div><div>${strip('proponents', q.proponents)}${strip('opponents', q.opponents)}</div></article>`;
}

function runTable(run: ReportRun): string {
  const rows: [string, string][] = [
    ['method', esc(run.method)],
    ['model hash', `<code>${esc(run.modelHash)}</code>`],
    ['training examples', run.trainCount.toLocaleString('en-US')],
    ['queries', run.queryCount.toLocaleString('en-US')],
  ];
  if (run.checkpoints !== undefined) rows.push(['checkpoints', String(run.checkpoints)]);
  if (run.dataset) rows.push(['dataset', esc(run.dataset)]);
  if (run.createdAt) rows.push(['created', esc(run.createdAt)]);
  for (const [k, v] of Object.entries(run.extra ?? {})) rows.push([esc(k), esc(String(v))]);
  for (const [k, v] of Object.entries(run.timings ?? {}))
    rows.push([`time: ${esc(k)}`, `${esc(fmt(v))} s`]);
  return `<table class="run">${rows.map(([k, v]) => `<tr><td>${k}</td><td>${v}</td></tr>`).join('')}</table>`;
}

function mislabelSection(m: ReportMislabels, classes: string[] | undefined): string {
  let detection = '';
  if (m.detection) {
    const d = m.detection;
    detection = `<table class="detection"><tr><th>inspected (top % by score)</th>${d.inspected.map((r) => `<th>${esc(fmt(r.fraction * 100))}%</th>`).join('')}${d.auc !== undefined ? '<th>ROC AUC</th>' : ''}</tr><tr><td>flipped labels found (of ${d.flippedTotal})</td>${d.inspected.map((r) => `<td>${d.flippedTotal ? ((100 * r.found) / d.flippedTotal).toFixed(1) : '–'}% <span class="muted">(${r.found})</span></td>`).join('')}${d.auc !== undefined ? `<td>${d.auc.toFixed(3)}</td>` : ''}</tr></table><p></p>`;
  }
  const rows = m.rows
    .map((r, i) => {
      const media = r.image
        ? imageTag(r.image, 48, `train ${r.id}`)
        : `<div class="snip">${esc(r.text ?? '')}</div>`;
      const was =
        r.originalLabel !== undefined
          ? ` <span class="muted">was ${esc(labelName(classes, r.originalLabel))}</span>`
          : '';
      const flip =
        r.flipped === undefined ? '' : r.flipped ? `<span class="flip">flipped</span>${was}` : 'no';
      return `<tr data-id="${r.id}"${keyAttr(r)}><td>${i + 1}</td><td>${esc(r.key ?? String(r.id))}</td><td>${media}</td><td>${esc(fmt(r.score))}</td><td>${esc(labelName(classes, r.givenLabel))}</td><td>${esc(labelName(classes, r.predictedLabel))}</td><td>${flip}</td></tr>`;
    })
    .join('');
  return `<section id="mislabels"><h2>Suspected mislabels <span class="muted">(ranked by ${esc(m.method)})</span></h2>${detection}<table class="mislabels"><thead><tr><th>rank</th><th>id</th><th>example</th><th>score</th><th>given</th><th>predicted</th><th>flipped</th></tr></thead><tbody>${rows}</tbody></table></section>`;
}

/** The whole report as one HTML string. */
export function renderReport(data: ReportData): string {
  if (!data?.run || !Array.isArray(data.queries)) {
    throw new Error('report data needs `run` and a `queries` list');
  }
  const title = data.title ?? `Attribution report: ${data.run.method}`;
  const hists = (data.distributions ?? [])
    .map((d) => {
      const h = d.histogram ?? histogram(d.values ?? [], 40);
      return `<div class="hist"><div><b>${esc(d.name)}</b></div>${histogramSvg(h, { label: d.name })}</div>`;
    })
    .join('');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title><style>${CSS}</style></head>
<body><header><h1>${esc(title)}</h1><div class="sub">Positive score = proponent (training on the example lowers the query's loss); negative = opponent.</div></header>
<main>
${(data.warnings ?? []).map((w) => `<section class="warning"><b>Warning:</b> ${esc(w)}</section>`).join('')}
<section id="run"><h2>Run</h2>${runTable(data.run)}</section>
<section id="queries"><h2>Queries</h2><div class="cards">${data.queries.map((q) => queryCard(q, data.classes)).join('') || '<span class="muted">no queries</span>'}</div></section>
${hists ? `<section id="distributions"><h2>Score distributions</h2><div class="hists">${hists}</div></section>` : ''}
${data.mislabels ? mislabelSection(data.mislabels, data.classes) : ''}
</main><script>${JS}</script></body></html>
`;
}
