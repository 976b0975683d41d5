/// <reference lib="dom" />
// Time-series charts of the dashboard, drawn by uPlot (a ~50 KB canvas chart library) from the
// samples of GET /admin/stats. Each chart sits in a labelled figure whose accessible name carries
// the latest value and the peak, since a canvas says nothing to a screen reader.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { StatsSample } from './api.js';
import { formatClock, formatNumber } from './format.js';

/** Tick spacings of the time axis, s. */
const X_INCREMENTS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];

/** Height of each chart's plot, CSS px. */
export const CHART_HEIGHT_PX = 180;

export interface SeriesChartOptions {
  /** Where the chart goes; its width is the chart's width. */
  host: HTMLElement;
  /** Series name, also the figure's accessible name: "Messages per second". */
  label: string;
  /** Which field of a sample to plot. */
  field: 'msgRate' | 'connections';
  /** Line colour (CSS). */
  stroke: string;
  /** Area fill under the line (CSS). */
  fill: string;
}

/** One line chart of a cluster total over time. `update()` with the full history each poll. */
export class SeriesChart {
  private readonly plot: uPlot;
  private readonly resize: ResizeObserver;
  private points = 0;

  constructor(private readonly o: SeriesChartOptions) {
    const opts: uPlot.Options = {
      width: this.width(),
      height: CHART_HEIGHT_PX,
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, niceMax(max)] } },
      series: [
        { label: 'Time', value: (_u, v) => (v === null || v === undefined ? '–' : formatClock(v * 1000)) },
        {
          label: o.label,
          stroke: o.stroke,
          fill: o.fill,
          width: 2,
          points: { show: false },
          value: (_u, v) => (v === null || v === undefined ? '–' : formatNumber(v)),
        },
      ],
      axes: [
        {
          stroke: '#6b6b6b',
          grid: { stroke: '#ececec' },
          ticks: { stroke: '#dcdcdc' },
          space: 70,
          // Whole seconds and up: samples are 2 s apart.
          incrs: X_INCREMENTS_S,
          values: (_u, splits) => splits.map((s) => formatClock(s * 1000)),
        },
        { stroke: '#6b6b6b', grid: { stroke: '#ececec' }, ticks: { stroke: '#dcdcdc' }, size: 48, values: (_u, vals) => vals.map(formatNumber) },
      ],
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
    };
    this.plot = new uPlot(opts, [[], []], o.host);
    this.resize = new ResizeObserver(() => {
      const width = this.width();
      if (width !== this.plot.width) this.plot.setSize({ width, height: CHART_HEIGHT_PX });
    });
    this.resize.observe(o.host);
    this.describe();
  }

  /** Plot `history` (oldest first). */
  update(history: readonly StatsSample[]): void {
    const xs = history.map((s) => s.t / 1000);
    const ys = history.map((s) => s[this.o.field]);
    this.points = history.length;
    this.plot.setData([xs, ys]);
    const span = history.length ? (history[history.length - 1]!.t - history[0]!.t) / 1000 : 0;
    this.describe(ys, span);
  }

  destroy(): void {
    this.resize.disconnect();
    this.plot.destroy();
  }

  private width(): number {
    return Math.max(240, Math.floor(this.o.host.clientWidth));
  }

  /** Accessible summary and test hooks: the number of samples plotted. */
  private describe(ys: readonly number[] = [], spanS = 0): void {
    const h = this.o.host;
    h.dataset['points'] = String(this.points);
    const now = ys.at(-1);
    h.setAttribute(
      'aria-label',
      now === undefined
        ? `${this.o.label}: no samples yet`
        : `${this.o.label} over the last ${spanText(spanS)}: now ${formatNumber(now)}, peak ${formatNumber(Math.max(...ys))}`,
    );
  }
}

/** The y-axis top: the peak rounded up to 1, 2 or 5 × 10ⁿ, at least 5, so an idle cluster still shows an axis. */
export function niceMax(max: number | null): number {
  const m = Math.max(5, max ?? 0);
  const p = 10 ** Math.floor(Math.log10(m));
  for (const k of [1, 2, 5, 10]) if (k * p >= m) return k * p;
  return 10 * p;
}

/** A span of seconds in words: `46 seconds`, `3 minutes`. */
function spanText(s: number): string {
  if (s < 60) return `${Math.round(s)} seconds`;
  const m = Math.round(s / 60);
  return `${m} minute${m === 1 ? '' : 's'}`;
}
