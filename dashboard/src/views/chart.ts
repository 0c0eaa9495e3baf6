/**
 * Clicks and earnings per day, drawn with uPlot. This module is imported on demand (its own chunk), so
 * pages without a chart do not download uPlot. Clicks are bars on the left axis, earnings a line on the right axis in the currency's major units.
 */
import uPlot from 'uplot';
import type { Stats } from '../types.js';
import { formatCount, formatDay, formatMoney, toMajor, exponent } from '../format.js';

/** Dates "YYYY-MM-DD" as UTC-midnight seconds (the days are already local to the chosen time zone). */
function xValues(dates: string[]): number[] {
  return dates.map((d) => Date.UTC(+d.slice(0, 4), +d.slice(5, 7) - 1, +d.slice(8, 10)) / 1000);
}

/**
 * Draw the chart into `container` and keep it sized to the container's width (the merchant console draws revenue
 * with `moneyName` "Revenue").
 * @returns a function that destroys the chart and stops observing
 */
export async function drawChart(
  container: HTMLElement,
  stats: Stats,
  currency: string,
  moneyName = 'Earnings',
): Promise<() => void> {
  const earnings = stats.earnings.find((e) => e.currency === currency)?.amounts ?? stats.dates.map(() => 0);
  const data: uPlot.AlignedData = [xValues(stats.dates), stats.clicks, earnings.map((a) => toMajor(a, currency))];
  const styles = getComputedStyle(document.documentElement);
  const clickColor = styles.getPropertyValue('--chart-clicks').trim() || '#6366f1';
  const moneyColor = styles.getPropertyValue('--chart-money').trim() || '#059669';
  const axisColor = styles.getPropertyValue('--muted').trim() || '#64748b';
  const gridColor = styles.getPropertyValue('--grid').trim() || '#e2e8f0';
  const bars = uPlot.paths.bars!({ size: [0.6, 24] });
  const moneyLabel = (v: number) => formatMoney(Math.round(v * 10 ** exponent(currency)), currency);
  const width = () => Math.max(280, container.clientWidth);
  const opts: uPlot.Options = {
    width: width(),
    height: 240,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
    legend: { live: true },
    cursor: { drag: { x: false, y: false }, points: { size: 7 } },
    scales: {
      x: { time: true, range: (_u, min, max) => [min - 43_200, max + 43_200] },
      clicks: { range: (_u, _min, max) => [0, Math.max(4, max * 1.15)] },
      money: { range: (_u, _min, max) => [0, Math.max(1, max * 1.15)] },
    },
    series: [
      {
        label: 'Day',
        value: (_u, ts) => (ts == null ? '—' : formatDay(new Date(ts * 1000).toISOString().slice(0, 10))),
      },
      {
        label: 'Clicks',
        scale: 'clicks',
        stroke: clickColor,
        fill: `${clickColor}55`,
        paths: bars,
        points: { show: false },
        value: (_u, v) => (v == null ? '—' : formatCount(v)),
      },
      {
        label: `${moneyName} (${currency.toUpperCase()})`,
        scale: 'money',
        stroke: moneyColor,
        width: 2,
        points: { show: stats.days <= 7 },
        value: (_u, v) => (v == null ? '—' : moneyLabel(v)),
      },
    ],
    axes: [
      {
        stroke: axisColor,
        grid: { stroke: gridColor, width: 1 },
        ticks: { show: false },
        values: (_u, splits) => splits.map((s) => formatDay(new Date(s * 1000).toISOString().slice(0, 10))),
      },
      {
        scale: 'clicks',
        stroke: axisColor,
        grid: { stroke: gridColor, width: 1 },
        ticks: { show: false },
        values: (_u, splits) => splits.map((s) => (Number.isInteger(s) ? formatCount(s) : '')),
      },
      {
        scale: 'money',
        side: 1,
        stroke: axisColor,
        grid: { show: false },
        ticks: { show: false },
        size: 70,
        values: (_u, splits) => splits.map(moneyLabel),
      },
    ],
  };
  container.replaceChildren();
  const plot = new uPlot(opts, data, container);
  const ro =
    typeof ResizeObserver !== 'undefined'
      ? new ResizeObserver(() => plot.setSize({ width: width(), height: 240 }))
      : null;
  ro?.observe(container);
  return () => {
    ro?.disconnect();
    plot.destroy();
  };
}
