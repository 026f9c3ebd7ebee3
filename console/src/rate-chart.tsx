/**
 * Records written to a topic per second, live while the page is open: the sum of its partitions' high
 * watermarks read every few seconds (describe topic), the difference over the time between reads, drawn
 * with uPlot. The latest rate is also said in text, for screen readers and for tests. Each read is
 * handed to `onSample`, so the page's partition table stays current too.
 */
import 'uplot/dist/uPlot.min.css';
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { api } from './api.ts';
import type { TopicDetails } from './api-types.ts';

/** How often the topic is read; a tab open on a deployed stack makes one request per period. */
export const RATE_PERIOD_MS = 3_000;
/** Points kept: five minutes. */
const MAX_POINTS = 100;

export function RateChart({
  topic,
  onSample,
}: {
  topic: string;
  onSample?: (details: TopicDetails) => void;
}) {
  // The latest callback, read by the sampling loop without restarting it.
  const sampled = useRef(onSample);
  sampled.current = onSample;
  const holder = useRef<HTMLDivElement>(null);
  const [latest, setLatest] = useState<number | undefined>();
  const [failure, setFailure] = useState<string | undefined>();

  useEffect(() => {
    const element = holder.current;
    if (element === null) return;
    const times: number[] = [];
    const rates: number[] = [];
    const plot = new uPlot(
      {
        width: Math.max(280, element.clientWidth),
        height: 180,
        series: [{}, { label: 'records/s', stroke: '#0172ad', fill: 'rgba(1, 114, 173, 0.1)', width: 2 }],
        axes: [{}, { label: 'records/s', size: 60 }],
        scales: { y: { range: (_self, _min, max) => [0, Math.max(1, max)] } },
        legend: { show: false },
      },
      [times, rates],
      element,
    );
    const resize = new ResizeObserver(() =>
      plot.setSize({ width: Math.max(280, element.clientWidth), height: 180 }),
    );
    resize.observe(element);
    let previous: { at: number; total: number } | undefined;
    let stopped = false;
    const sample = async () => {
      try {
        const details = await api.describeTopic(topic);
        const at = Date.now();
        const total = details.partitions.reduce((sum, p) => sum + p.highWatermark, 0);
        if (stopped) return;
        sampled.current?.(details);
        if (previous !== undefined && at > previous.at) {
          const rate = Math.max(0, (total - previous.total) / ((at - previous.at) / 1000));
          times.push(at / 1000);
          rates.push(rate);
          if (times.length > MAX_POINTS) {
            times.shift();
            rates.shift();
          }
          plot.setData([times, rates]);
          setLatest(rate);
        }
        previous = { at, total };
        setFailure(undefined);
      } catch (error) {
        if (!stopped) setFailure(String(error instanceof Error ? error.message : error));
      }
    };
    void sample();
    const timer = setInterval(() => void sample(), RATE_PERIOD_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
      resize.disconnect();
      plot.destroy();
    };
  }, [topic]);

  return (
    <section class="panel" aria-labelledby="rate-title">
      <h2 id="rate-title">Records in, per second (live)</h2>
      <p>
        {latest === undefined ? (
          <span class="muted">Measuring: the first rate comes after {RATE_PERIOD_MS / 1000} seconds.</span>
        ) : (
          <>
            Now: <strong data-field="rate">{latest.toFixed(1)}</strong> records/s
          </>
        )}
        {failure !== undefined && <span class="muted"> (last read failed: {failure}; retrying)</span>}
      </p>
      <div ref={holder} class="rate-chart" role="img" aria-label={`Records written to ${topic} per second`} />
    </section>
  );
}
