/**
 * What is moving, on the overview: records written per second over all topics (high watermarks) and
 * records consumed per second over all consumer groups (committed offsets), both live; and how the
 * janitor's last pass went (`GET /v1/janitor`).
 *
 * A rate is the sum, over the partitions present in two reads in a row, of how far each moved, over the
 * time between the reads. A partition that appears or goes (a new group, a deleted topic) or moves
 * back (offsets reset) adds nothing, rather than a spike or a negative rate.
 */
import { useEffect } from 'preact/hooks';
import { ApiError, api } from '../api.ts';
import type { JanitorRun } from '../api-types.ts';
import { LIVE_PERIOD_MS, LiveChart, type Reading } from '../live-chart.tsx';
import { describeAll, useLoad } from '../load.ts';
import { Failure, formatTime, Loading } from '../notices.tsx';

/** Offsets by partition (`topic/partition`, or `group/topic/partition`). */
type Offsets = Map<string, number>;

export function ratePerSecond(reading: Reading<Offsets>, previous: Reading<Offsets> | undefined) {
  if (previous === undefined || reading.at <= previous.at) return undefined;
  let moved = 0;
  for (const [key, offset] of reading.value) {
    const before = previous.value.get(key);
    if (before !== undefined && offset > before) moved += offset - before;
  }
  return moved / ((reading.at - previous.at) / 1000);
}

async function highWatermarks(): Promise<Offsets> {
  const topics = await describeAll((await api.listTopics()).topics, (name) => api.describeTopic(name));
  return new Map(
    topics.flatMap((t) => t.partitions.map((p) => [`${t.name}/${p.partition}`, p.highWatermark] as const)),
  );
}

async function committedOffsets(): Promise<Offsets> {
  const groups = await describeAll((await api.listGroups()).groups, (name) => api.describeGroup(name));
  return new Map(
    groups.flatMap((g) =>
      g.partitions.flatMap((p) =>
        p.committedOffset === null
          ? []
          : [[`${g.group}/${p.topic}/${p.partition}`, p.committedOffset] as const],
      ),
    ),
  );
}

/** Records per second, live, from offsets read every few seconds. */
function OffsetRate(props: { id: string; title: string; description: string; read: () => Promise<Offsets> }) {
  return (
    <LiveChart
      {...props}
      unit="records/s"
      waiting={`Measuring: the first rate comes after ${LIVE_PERIOD_MS / 1000} seconds.`}
      subject={props.id}
      point={ratePerSecond}
      format={(rate) => rate.toFixed(1)}
    />
  );
}

export function ActivityPanels() {
  return (
    <div class="grid">
      <OffsetRate
        id="records-in"
        title="Records in, per second (live)"
        description="Records written to all topics per second"
        read={highWatermarks}
      />
      <OffsetRate
        id="records-out"
        title="Records out, per second (live)"
        description="Records consumed per second: offsets committed by all consumer groups"
        read={committedOffsets}
      />
    </div>
  );
}

/** How often the janitor panel reads again (a pass runs every few seconds locally, every minute deployed). */
const JANITOR_READ_MS = 15_000;

/** `40 s ago`, `2 min ago`, `3 h ago`, `2 days ago`. */
export function ago(ms: number, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - ms) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  const days = Math.floor(seconds / 86_400);
  return `${days} day${days === 1 ? '' : 's'} ago`;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export function JanitorPanel() {
  const [state, reload] = useLoad(() => api.janitor(), []);
  useEffect(() => {
    const timer = setInterval(reload, JANITOR_READ_MS);
    return () => clearInterval(timer);
  }, [reload]);
  return (
    <section class="panel" aria-labelledby="janitor-title">
      <h2 id="janitor-title">Janitor</h2>
      {state.state === 'loading' && <Loading what="the janitor's last run" />}
      {state.state === 'failed' &&
        (state.error instanceof ApiError && state.error.status === 404 ? (
          <p data-field="janitor">
            This server does not say when its janitor last ran: it has no <code>GET /v1/janitor</code> (it
            predates it). Deploy or start the current Streambed to see it here.
          </p>
        ) : (
          <Failure error={state.error} what="the janitor's last run" />
        ))}
      {state.state === 'loaded' &&
        (state.value.lastRun === null ? (
          <p data-field="janitor">
            <strong>The janitor has not run yet</strong> on this store. It deletes records past their topic's
            retention, compacts small objects and removes objects nothing points at; until a pass completes,
            nothing is deleted by retention. <code>npx streambed start</code> runs it every 5 seconds (
            <code>--janitor-interval-ms</code>, 0 turns it off); a deployed stack every minute.
          </p>
        ) : (
          <LastRun run={state.value.lastRun} />
        ))}
      <button type="button" class="secondary outline" onClick={reload}>
        Refresh janitor
      </button>
    </section>
  );
}

function LastRun({ run }: { run: JanitorRun }) {
  return (
    <>
      <p data-field="janitor">
        <strong>
          Last run <time dateTime={new Date(run.finishedAt).toISOString()}>{ago(run.finishedAt)}</time>
        </strong>{' '}
        ({plural(run.partitions, 'partition')}), finished {formatTime(run.finishedAt)} after{' '}
        {((run.finishedAt - run.startedAt) / 1000).toFixed(1)} s.
      </p>
      <p class="muted">
        {plural(run.retainedBatches, 'batch', 'batches')} deleted by retention,{' '}
        {plural(run.compactedBatches, 'batch', 'batches')} compacted, {plural(run.deletedObjects, 'object')}{' '}
        deleted, {plural(run.deletedTopics, 'deleted topic')} cleaned up
        {run.skipped > 0 && <>, {plural(run.skipped, 'partition')} left to another janitor</>}.{' '}
        {run.failures === 0 ? (
          'No failures.'
        ) : (
          <span data-field="janitor-failures">
            {plural(run.failures, 'failure')}: those partitions or steps were skipped and the next pass tries
            them again; the janitor's log says which.
          </span>
        )}
        {run.incomplete &&
          run.failures === 0 &&
          ' The pass stopped at its deadline; the next one carries on.'}
      </p>
    </>
  );
}
