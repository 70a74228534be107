import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeries {
  label: string;
  /** A CSS colour; series are also told apart by label in the accessible summary. */
  stroke: string;
}

export interface ChartProps {
  /** x: unix seconds, then one array per series. */
  data: uPlot.AlignedData;
  series: ChartSeries[];
  height: number;
  /** The chart's text alternative (the canvas itself is hidden from assistive technology). */
  summary: string;
  yRange?: [number, number];
  /** Tiny: no axes, no legend, no cursor (sparklines). */
  spark?: boolean;
  yLabel?: string;
  /** x is a plain number (a training step), not a time. @default true */
  xTime?: boolean;
  xLabel?: string;
}

/** uPlot in a Preact component: created once, then only `setData` (and resized with its box). */
export function Chart({ data, series, height, summary, yRange, spark = false, yLabel, xTime = true, xLabel }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const element = box.current!;
    const options: uPlot.Options = {
      width: Math.max(element.clientWidth, 80),
      height,
      legend: { show: !spark },
      cursor: { show: !spark },
      scales: { x: { time: xTime }, y: yRange ? { range: () => yRange } : {} },
      axes: spark ? [{ show: false }, { show: false }] : [xLabel ? { label: xLabel } : {}, { label: yLabel, size: 50 }],
      series: [xLabel ? { label: xLabel } : {}, ...series.map((s) => ({ label: s.label, stroke: s.stroke, width: 1.5, points: { show: false } }))],
    };
    const chart = new uPlot(options, data, element);
    plot.current = chart;
    const observer = new ResizeObserver(() => chart.setSize({ width: Math.max(element.clientWidth, 80), height }));
    observer.observe(element);
    return () => {
      observer.disconnect();
      chart.destroy();
      plot.current = null;
    };
  }, [height, spark, xTime]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  return (
    <figure class={spark ? 'chart spark' : 'chart'} role="img" aria-label={summary}>
      <div ref={box} aria-hidden="true" />
    </figure>
  );
}
