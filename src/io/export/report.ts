// Report export: ONE self-contained HTML file (no external URL; images are data: URIs) that prints on A4:
// the map and its legend (and the standard deviation map when there is one), the share of the area in
// each threshold class, the comparison of methods (cross-validation metrics stored with the project's
// runs; the run list with timings when there are none), the run's parameters, grid, CRS, backend and
// timings, and a notice when the project holds synthetic data.

import type { ExposureMap, RunRecord } from '../../domain/types.ts';
import { cellHeight, cellWidth } from '../../geo/grid.ts';
import { classLabels, classOf, makeScale, renderLegend, renderMap, type ColourScale } from './colour.ts';
import type { RgbaImage } from './font.ts';
import { encodePng, standardDeviation } from './png.ts';
import { formatValue, xmlEscape as esc } from './text.ts';
import type { OutFile } from './atomic.ts';

export interface ReportInput {
  map: ExposureMap;
  run: RunRecord;
  /** All runs of the project (comparison table). */
  runs: RunRecord[];
  project: { name: string; path: string; crs: string; synthetic: boolean; description: string };
  /** Sensor positions in the grid CRS, drawn on the maps. */
  sensors?: Array<{ id: string; name: string; x: number; y: number }>;
  thresholds?: number[];
  ramp?: string;
  step?: number;
  appVersion?: string;
  generatedAt?: number;
}

/** One row of cross-validation metrics found in a run's metrics. */
export interface MetricsRow {
  runId: number;
  method: string;
  label: string;
  scheme: string;
  n: number | null;
  rmse: number;
  mae: number | null;
  bias: number | null;
  r2: number | null;
  seconds: number;
  backend: string;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const numOrNull = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/**
 * Metrics rows of a run. RunRecord.metrics is free-form; we accept CvMetrics-like objects ({rmse, mae,
 * bias, r2, n}) at the top level (scheme from a "scheme"/"cv" string) or one level down keyed by scheme
 * ({loo: {...}, "kfold:5": {...}, truth: {...}}).
 */
export function metricsRows(run: RunRecord): MetricsRow[] {
  const rows: MetricsRow[] = [];
  const push = (scheme: string, m: Record<string, unknown>) => {
    const rmse = numOrNull(m.rmse);
    if (rmse === null) return;
    rows.push({
      runId: run.id, method: run.method, label: run.label, scheme, n: numOrNull(m.n), rmse,
      mae: numOrNull(m.mae), bias: numOrNull(m.bias), r2: numOrNull(m.r2), seconds: run.timings.total, backend: run.backend,
    });
  };
  const m = run.metrics ?? {};
  if (numOrNull(m.rmse) !== null) {
    const scheme = typeof m.scheme === 'string' ? m.scheme : typeof m.cv === 'string' ? m.cv : 'cv';
    push(scheme, m);
  }
  for (const [k, v] of Object.entries(m)) if (isObj(v)) push(k, v);
  return rows;
}

function dataUri(png: Uint8Array): string {
  return `data:image/png;base64,${Buffer.from(png).toString('base64')}`;
}

/** Map image for the page: cells enlarged to about `target` pixels on the long side, sensors as dots. */
function pageMap(values: ArrayLike<number>, input: ReportInput, scale: ColourScale, target = 560): RgbaImage {
  const g = input.map.grid;
  const k = Math.max(1, Math.floor(target / Math.max(g.width, g.height)));
  const img = renderMap(values, g.width, g.height, scale, k);
  const dot = (cx: number, cy: number, r: number, rgb: [number, number, number]) => {
    for (let y = cy - r; y <= cy + r; y++) {
      for (let x = cx - r; x <= cx + r; x++) {
        if (x < 0 || y < 0 || x >= img.width || y >= img.height || (x - cx) ** 2 + (y - cy) ** 2 > r * r) continue;
        const o = (y * img.width + x) * 4;
        img.data.set([rgb[0], rgb[1], rgb[2], 255], o);
      }
    }
  };
  for (const s of input.sensors ?? []) {
    const px = Math.round(((s.x - g.bounds.xmin) / cellWidth(g)) * k);
    const py = Math.round(((g.bounds.ymax - s.y) / cellHeight(g)) * k);
    dot(px, py, 4, [255, 255, 255]);
    dot(px, py, 2, [0, 0, 0]);
  }
  return img;
}

/** How a validation scheme key reads in the table ("loo" → "leave-one-out", "truth" → "reference map"). */
export function schemeLabel(key: string): string {
  const k = key.trim().toLowerCase();
  if (k === 'truth' || k === 'reference') return 'reference map';
  if (k === 'loo') return 'leave-one-out';
  const m = /^(kfold|blocks):(\d+)$/.exec(k);
  if (m) return m[1] === 'kfold' ? `${m[2]}-fold` : `${m[2]} spatial blocks`;
  return key;
}

/** An area in m²: hectares below 1 km², else km², 3 significant digits. */
function area(m2: number): string {
  return m2 < 1e6 ? `${Number((m2 / 1e4).toPrecision(3))} ha` : `${Number((m2 / 1e6).toPrecision(3))} km²`;
}

const iso = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
const num = (v: number | null | undefined, digits = 3) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : Number(v.toPrecision(digits)).toString());
const secs = (s: number) => (s < 1 ? `${(s * 1000).toFixed(0)} ms` : `${s.toFixed(2)} s`);

function table(head: string[], rows: string[][], cls = ''): string {
  return `<table${cls ? ` class="${cls}"` : ''}><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

function stats(values: ArrayLike<number>): { min: number; max: number; mean: number; p50: number; p95: number; valid: number } {
  const v = Array.from(values).filter(Number.isFinite).sort((a, b) => a - b);
  const q = (p: number) => (v.length ? v[Math.min(v.length - 1, Math.floor(p * (v.length - 1) + 0.5))] : NaN);
  const mean = v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
  return { min: v[0] ?? NaN, max: v[v.length - 1] ?? NaN, mean, p50: q(0.5), p95: q(0.95), valid: v.length };
}

function paramValue(v: unknown): string {
  if (typeof v === 'number') return formatValue(v);
  if (typeof v === 'string') return esc(v);
  return `<code>${esc(JSON.stringify(v))}</code>`;
}

const CSS = `
@page { size: A4; margin: 14mm 12mm; }
* { box-sizing: border-box; }
body { font: 10.5pt/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #1a1a1a; margin: 0 auto; max-width: 186mm; padding: 8mm 0; }
h1 { font-size: 17pt; margin: 0 0 2mm; }
h2 { font-size: 12.5pt; margin: 6mm 0 2mm; border-bottom: 1px solid #bbb; padding-bottom: 1mm; }
.sub { color: #555; margin: 0 0 4mm; }
.synthetic { border: 2px solid #b00; color: #b00; font-weight: 600; padding: 2mm 3mm; margin: 3mm 0; }
.maps { display: flex; flex-wrap: wrap; gap: 4mm; align-items: flex-start; }
figure { margin: 0; break-inside: avoid; }
figure .pair { display: flex; gap: 2mm; align-items: flex-start; }
figure img.map { width: 120mm; max-width: 100%; image-rendering: pixelated; border: 1px solid #999; }
figure img.legend { width: auto; max-width: 40mm; }
figcaption { font-size: 9pt; color: #444; margin-top: 1mm; }
table { border-collapse: collapse; width: 100%; margin: 1mm 0 3mm; break-inside: avoid; font-size: 9.5pt; }
th, td { border: 1px solid #ccc; padding: 1mm 2mm; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.current td { background: #fff6d6; }
.swatch { display: inline-block; width: 10mm; height: 3.5mm; border: 1px solid #777; vertical-align: middle; }
code { font-size: 8.5pt; word-break: break-all; }
footer { margin-top: 8mm; font-size: 8.5pt; color: #666; }
@media print { body { padding: 0; } h2 { break-after: avoid; } }
`;

export function reportHtml(input: ReportInput): string {
  const { map, run, project } = input;
  const g = map.grid;
  const scale = makeScale(map.values, { ramp: input.ramp, thresholds: input.thresholds });
  const legend = dataUri(encodePng(renderLegend(scale, 'E (V/m)')));
  const mapImg = dataUri(encodePng(pageMap(map.values, input, scale)));
  const figures = [
    `<figure><div class="pair"><img class="map" src="${mapImg}" alt="exposure map"><img class="legend" src="${legend}" alt="legend"></div><figcaption>Estimated electric field E (V/m), ${esc(map.method)}${input.sensors?.length ? `; dots: ${input.sensors.length} sensors` : ''}.</figcaption></figure>`,
  ];
  const sd = standardDeviation(map);
  if (sd) {
    const sdScale = makeScale(sd, { ramp: input.ramp });
    figures.push(
      `<figure><div class="pair"><img class="map" src="${dataUri(encodePng(pageMap(sd, input, sdScale)))}" alt="standard deviation map"><img class="legend" src="${dataUri(encodePng(renderLegend(sdScale, 'SD (V/m)')))}" alt="legend"></div><figcaption>Prediction standard deviation (V/m).</figcaption></figure>`,
    );
  }

  const st = stats(map.values);
  const cellArea = cellWidth(g) * cellHeight(g);
  const summary = table(
    ['cells', 'with value', 'min', 'median', 'mean', '95th pct', 'max'],
    [[String(g.width * g.height), String(st.valid), num(st.min), num(st.p50), num(st.mean), num(st.p95), num(st.max)]],
  );

  let classes = '';
  if (scale.kind === 'classed') {
    const counts = new Array(scale.thresholds.length + 1).fill(0);
    for (let i = 0; i < map.values.length; i++) if (Number.isFinite(map.values[i])) counts[classOf(map.values[i], scale.thresholds)]++;
    const labels = classLabels(scale.thresholds);
    const rows = labels.map((l, k) => {
      const [r, gg, b] = scale.classColours[k];
      return [`<span class="swatch" style="background: rgb(${r}, ${gg}, ${b})"></span>`, `${esc(l)} V/m`, String(counts[k]),
        st.valid ? `${((100 * counts[k]) / st.valid).toFixed(1)} %` : '—', area(counts[k] * cellArea)];
    }).reverse();
    classes = `<h2>Area by threshold class</h2>${table(['', 'class', 'cells', 'share of mapped area', 'area'], rows)}`;
  }

  // comparison: cross-validation metrics from the runs that have them, else the run list with timings
  // grouped by validation (cross-validation schemes first, the reference map last), best RMSE first: a saved
  // `compare` stores one run per method with metrics.<scheme> and metrics.truth, so this reads as its table
  const schemeRank = (k: string) => (schemeLabel(k) === 'reference map' ? 1 : 0);
  const metricRows = input.runs
    .flatMap(metricsRows)
    .sort((a, b) => schemeRank(a.scheme) - schemeRank(b.scheme) || (a.scheme < b.scheme ? -1 : a.scheme > b.scheme ? 1 : 0) || a.rmse - b.rmse);
  let comparison: string;
  if (metricRows.length) {
    comparison = `<h2>Comparison of methods</h2>${table(
      ['run', 'method', 'validation', 'n', 'RMSE', 'MAE', 'bias', 'R²', 'time', 'backend'],
      metricRows.map((m) => [String(m.runId), esc(m.method + (m.label ? ` (${m.label})` : '')), esc(schemeLabel(m.scheme)), m.n === null ? '—' : String(m.n),
        num(m.rmse), num(m.mae), num(m.bias), num(m.r2), secs(m.seconds), esc(m.backend)]),
    ).replace(new RegExp(`<tr><td>${run.id}</td>`, 'g'), `<tr class="current"><td>${run.id}</td>`)}<p class="sub">RMSE, MAE and bias in V/m from held-out sensors (cross-validation) or against the reference map; the highlighted row is this map's run.</p>`;
  } else {
    comparison = `<h2>Runs in this project</h2>${table(
      ['run', 'created', 'method', 'label', 'grid', 'fit', 'predict', 'total', 'backend'],
      input.runs.map((r) => [String(r.id), iso(r.createdAt), esc(r.method), esc(r.label), `${r.grid.width}×${r.grid.height}`,
        secs(r.timings.fit), secs(r.timings.predict), secs(r.timings.total), esc(r.backend)]),
    ).replace(new RegExp(`<tr><td>${run.id}</td>`, 'g'), `<tr class="current"><td>${run.id}</td>`)}<p class="sub">No cross-validation results are stored yet (run <code>emfmap compare</code>); the highlighted row is this map's run.</p>`;
  }

  const sel = run.selection;
  const window = sel.from || sel.to ? `${sel.from ? iso(sel.from) : '…'} – ${sel.to ? iso(sel.to) : '…'}` : 'all readings';
  const params = Object.entries(run.params ?? {});
  const runTable = table(['', ''], [
    ['method', esc(run.method)],
    ['label', esc(run.label || '—')],
    ['run id', `${run.id}${input.step !== undefined && run.steps > 1 ? `, step ${input.step + 1} of ${run.steps}` : ''}`],
    ['created', iso(run.createdAt)],
    ['data', `${esc(window)}; aggregation ${esc(sel.agg)}${sel.band ? `; band ${esc(sel.band)}` : ''}${sel.sensorIds?.length ? `; ${sel.sensorIds.length} sensors selected` : ''}`],
    ['compute backend', esc(map.backend || run.backend)],
    ['timings', `fit ${secs(map.timings.fit)}, predict ${secs(map.timings.predict)}, total ${secs(map.timings.total)}`],
    ...params.map(([k, v]) => [`parameter <code>${esc(k)}</code>`, paramValue(v)]),
  ]).replace('<thead><tr><th></th><th></th></tr></thead>', '');
  const gridTable = table(['', ''], [
    ['size', `${g.width} × ${g.height} cells of ${formatValue(cellWidth(g))} × ${formatValue(cellHeight(g))} m`],
    ['bounds', `x ${g.bounds.xmin.toFixed(1)} … ${g.bounds.xmax.toFixed(1)}, y ${g.bounds.ymin.toFixed(1)} … ${g.bounds.ymax.toFixed(1)} m`],
    ['CRS', `<code>${esc(g.crs)}</code>`],
    ['colour ramp', `${esc(scale.ramp)}${scale.kind === 'classed' ? `, classed at ${scale.thresholds.map(formatValue).join(', ')} V/m` : `, continuous ${formatValue(scale.min)} – ${formatValue(scale.max)} V/m`}`],
  ]).replace('<thead><tr><th></th><th></th></tr></thead>', '');

  const generated = input.generatedAt ?? Date.now();
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="emfmap ${esc(input.appVersion ?? '')}">
<title>${esc(project.name)} — ${esc(map.method)} exposure map</title>
<style>${CSS}</style>
</head>
<body>
<h1>${esc(project.name)}: RF-EMF exposure map</h1>
<p class="sub">${esc(map.method)}${run.label ? ` — ${esc(run.label)}` : ''}; run ${run.id}${map.time ? `; time ${iso(map.time)}` : ''}. ${esc(project.description)}</p>
${project.synthetic ? '<div class="synthetic">SYNTHETIC DATA — this project was generated by the emfmap demo scenario; the values are not measurements.</div>' : ''}
<div class="maps">
${figures.join('\n')}
</div>
<h2>Summary (V/m)</h2>
${summary}
${classes}
${comparison}
<h2>Run</h2>
${runTable}
<h2>Grid</h2>
${gridTable}
<footer>Generated by emfmap ${esc(input.appVersion ?? '')} on ${iso(generated)} from ${esc(project.path)}. Values are total electric field strength in V/m; reference levels and thresholds are the user's choice.</footer>
</body>
</html>
`;
}

export function reportFile(input: ReportInput, out: string): OutFile {
  return { path: out, data: reportHtml(input) };
}

