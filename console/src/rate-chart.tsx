/**
 * Records written to a topic per second, live while the page is open: the sum of its partitions' high
 * watermarks read every few seconds (describe topic), the difference over the time between reads.
 */
import { api } from './api.ts';
import type { TopicDetails } from './api-types.ts';
import { LIVE_PERIOD_MS, LiveChart } from './live-chart.tsx';

function written(details: TopicDetails): number {
  return details.partitions.reduce((sum, p) => sum + p.highWatermark, 0);
}

export function RateChart({
  topic,
  onSample,
}: {
  topic: string;
  onSample?: (details: TopicDetails) => void;
}) {
  return (
    <LiveChart
      id="rate"
      title="Records in, per second (live)"
      unit="records/s"
      description={`Records written to ${topic} per second`}
      waiting={`Measuring: the first rate comes after ${LIVE_PERIOD_MS / 1000} seconds.`}
      subject={topic}
      read={() => api.describeTopic(topic)}
      point={(reading, previous) =>
        previous === undefined || reading.at <= previous.at
          ? undefined
          : Math.max(
              0,
              (written(reading.value) - written(previous.value)) / ((reading.at - previous.at) / 1000),
            )
      }
      format={(rate) => rate.toFixed(1)}
      onSample={onSample}
    />
  );
}
