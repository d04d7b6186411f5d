// Small uPlot charts: a sensor's time series, training curves. uPlot styles its elements from script (allowed by
// the page's CSP); its stylesheet is bundled.

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  label: string;
  values: ArrayLike<number | null>;
  colour: string;
  /** Draw points only (sparse data). */
  points?: boolean;
}

export function lineChart(
  el: HTMLElement,
  x: ArrayLike<number>,
  series: Series[],
  opts: { width?: number; height?: number; time?: boolean; yLabel?: string; xLabel?: string; logY?: boolean; title?: string } = {},
): uPlot {
  const data = [Array.from(x), ...series.map((s) => Array.from(s.values))] as uPlot.AlignedData;
  return new uPlot(
    {
      title: opts.title,
      width: opts.width ?? 380,
      height: opts.height ?? 180,
      scales: { x: { time: opts.time ?? false }, y: opts.logY ? { distr: 3 } : {} },
      axes: [
        { label: opts.xLabel, size: opts.xLabel ? 40 : 30 },
        { label: opts.yLabel, size: 50 },
      ],
      legend: { show: series.length > 1 },
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.colour,
          width: 1.5,
          points: { show: s.points ?? false, size: 4, fill: s.colour },
        })),
      ],
    },
    data,
    el,
  );
}
