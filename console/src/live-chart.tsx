/**
 * A number read every few seconds while the page is open, drawn over the last minutes with uPlot: the
 * topic page's records per second, the group page's lag. The latest value is also said in text, for
 * screen readers and for tests. Each read is handed to `onSample`, so the page's tables stay current too.
 */
import 'uplot/dist/uPlot.min.css';
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';

/** How often a chart reads; a tab open on a deployed stack makes one request per period and chart. */
export const LIVE_PERIOD_MS = 3_000;
/** Points kept: five minutes. */
const MAX_POINTS = 100;

export interface Reading<T> {
  value: T;
  at: number;
}

export function LiveChart<T>({
  id,
  title,
  unit,
  description,
  waiting,
  subject,
  read,
  point,
  format,
  onSample,
}: {
  /** Names the heading and the `data-field` of the latest value. */
  id: string;
  title: string;
  unit: string;
  /** What the chart shows, for screen readers. */
  description: string;
  /** Said until the first point. */
  waiting: string;
  /** What is read; a new subject starts a new chart. */
  subject: string;
  read: () => Promise<T>;
  /** The point of a reading, given the one before it; undefined draws none. */
  point: (reading: Reading<T>, previous: Reading<T> | undefined) => number | undefined;
  format: (value: number) => string;
  onSample?: (value: T) => void;
}) {
  // The latest callbacks, read by the sampling loop without restarting it.
  const callbacks = useRef({ read, point, onSample });
  callbacks.current = { read, point, onSample };
  const holder = useRef<HTMLDivElement>(null);
  const [latest, setLatest] = useState<number | undefined>();
  const [failure, setFailure] = useState<string | undefined>();

  useEffect(() => {
    const element = holder.current;
    if (element === null) return;
    const times: number[] = [];
    const values: number[] = [];
    const plot = new uPlot(
      {
        width: Math.max(280, element.clientWidth),
        height: 180,
        series: [{}, { label: unit, stroke: '#0172ad', fill: 'rgba(1, 114, 173, 0.1)', width: 2 }],
        axes: [{}, { label: unit, size: 60 }],
        scales: { y: { range: (_self, _min, max) => [0, Math.max(1, max)] } },
        legend: { show: false },
      },
      [times, values],
      element,
    );
    const resize = new ResizeObserver(() =>
      plot.setSize({ width: Math.max(280, element.clientWidth), height: 180 }),
    );
    resize.observe(element);
    let previous: Reading<T> | undefined;
    let stopped = false;
    const sample = async () => {
      try {
        const reading = { value: await callbacks.current.read(), at: Date.now() };
        if (stopped) return;
        callbacks.current.onSample?.(reading.value);
        const value = callbacks.current.point(reading, previous);
        if (value !== undefined) {
          times.push(reading.at / 1000);
          values.push(value);
          if (times.length > MAX_POINTS) {
            times.shift();
            values.shift();
          }
          plot.setData([times, values]);
          setLatest(value);
        }
        previous = reading;
        setFailure(undefined);
      } catch (error) {
        if (!stopped) setFailure(String(error instanceof Error ? error.message : error));
      }
    };
    void sample();
    const timer = setInterval(() => void sample(), LIVE_PERIOD_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
      resize.disconnect();
      plot.destroy();
    };
  }, [subject, unit]);

  return (
    <section class="panel" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{title}</h2>
      <p>
        {latest === undefined ? (
          <span class="muted">{waiting}</span>
        ) : (
          <>
            Now: <strong data-field={id}>{format(latest)}</strong> {unit}
          </>
        )}
        {failure !== undefined && <span class="muted"> (last read failed: {failure}; retrying)</span>}
      </p>
      <div ref={holder} class="rate-chart" role="img" aria-label={description} />
    </section>
  );
}
