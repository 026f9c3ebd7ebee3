/**
 * The live tail of the message browser: follows the newest records of one partition, or of all, from
 * the high watermark when it starts, and shows the newest TAIL_LIMIT of them, newest first.
 *
 * One partition is read with the fetch API's long poll (`max_wait_ms`): a request waits on the server
 * until records arrive, so they show at once without a stream of empty answers. All partitions are
 * read by describing the topic (one request for every high watermark) and fetching only the
 * partitions that moved, more rarely while nothing does. A failed read is retried with growing pauses.
 * Pausing, stopping, leaving the page or hiding the tab ends the reads (the request in flight is
 * called off); a tail paused by hiding the tab resumes when it is shown again.
 */
import type { ComponentType } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api, describeFailure } from './api.ts';
import type { FetchedRecord } from './api-types.ts';
import { SelectField } from './fields.tsx';
import { DataTable } from './table.tsx';

/** Records shown at most; older ones drop off as new ones arrive. */
export const TAIL_LIMIT = 200;
/** How long one long poll waits on the server (the API allows 20 s; a deployed stack's requests end at 29 s). */
const LONG_POLL_MS = 10_000;
/** Bytes one read asks for: a burst is read in a few pages, and only the newest TAIL_LIMIT stay. */
const TAIL_FETCH_BYTES = 262_144;
/** Pauses between reads of all partitions while nothing arrives: from the first to the last, growing. */
const IDLE_MS = [1_000, 2_000, 3_000, 5_000];
/** Pauses before retrying a failed read, growing to the last. */
const RETRY_MS = [1_000, 2_000, 5_000, 10_000, 30_000];

type State = 'stopped' | 'running' | 'paused' | 'hidden';

interface Tailed {
  partition: number;
  record: FetchedRecord;
}

function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

const pick = (steps: number[], n: number) => steps[Math.min(n, steps.length - 1)] as number;

/**
 * Reads from `positions` until `signal` aborts, handing each read's records to `add`. Positions move
 * as records are read, so a paused tail resumes where it stopped.
 */
async function follow(
  topic: string,
  only: number | undefined,
  positions: Map<number, number>,
  signal: AbortSignal,
  add: (records: Tailed[]) => void,
  setProblem: (problem: string | undefined) => void,
): Promise<void> {
  let failures = 0;
  let idle = 0;
  const read = async (partition: number, waitMs: number) => {
    const offset = positions.get(partition) ?? 0;
    const page = await api.fetch(topic, partition, offset, TAIL_FETCH_BYTES, { waitMs, signal });
    positions.set(partition, page.nextOffset);
    add(page.records.map((record) => ({ partition, record })));
    return page.records.length;
  };
  while (!signal.aborted) {
    try {
      let arrived = 0;
      if (only !== undefined) arrived = await read(only, LONG_POLL_MS);
      else {
        const details = await api.describeTopic(topic);
        for (const p of details.partitions) {
          if (signal.aborted) return;
          // A partition added since the tail started is read from its start: all of it is new.
          const at = positions.get(p.partition) ?? p.logStartOffset;
          positions.set(p.partition, at);
          if (p.highWatermark > at) arrived += await read(p.partition, 0);
        }
      }
      failures = 0;
      setProblem(undefined);
      if (only === undefined) {
        idle = arrived > 0 ? 0 : idle + 1;
        await wait(pick(IDLE_MS, idle), signal);
      }
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof ApiError && error.code === 'OFFSET_OUT_OF_RANGE') {
        // Retention or a deletion moved past where the tail was: go on from the new start.
        await skipToStart(topic, only, positions);
        continue;
      }
      setProblem(describeFailure(error));
      await wait(pick(RETRY_MS, failures), signal);
      failures += 1;
    }
  }
}

/** Moves every position below its partition's log start up to it. */
async function skipToStart(topic: string, only: number | undefined, positions: Map<number, number>) {
  const details = await api.describeTopic(topic);
  for (const p of details.partitions) {
    if (only !== undefined && p.partition !== only) continue;
    positions.set(p.partition, Math.max(positions.get(p.partition) ?? 0, p.logStartOffset));
  }
}

/**
 * Where a tail (re)starts: at the high watermarks when new, else where it stopped, but no further
 * back than the newest TAIL_LIMIT records (the rest would drop off the list anyway).
 */
async function startPositions(topic: string, only: number | undefined, previous?: Map<number, number>) {
  const details = await api.describeTopic(topic);
  const positions = new Map<number, number>();
  for (const p of details.partitions) {
    if (only !== undefined && p.partition !== only) continue;
    const from = previous?.get(p.partition) ?? p.highWatermark;
    positions.set(p.partition, Math.max(from, p.highWatermark - TAIL_LIMIT, p.logStartOffset));
  }
  return positions;
}

export function TailPanel({
  topic,
  partitions,
  Row,
}: {
  topic: string;
  partitions: number;
  Row: ComponentType<{ record: FetchedRecord; partition?: number }>;
}) {
  const [choice, setChoice] = useState('all');
  const [state, setState] = useState<State>('stopped');
  const [records, setRecords] = useState<Tailed[]>([]);
  const [problem, setProblem] = useState<string | undefined>();
  const [startedAt, setStartedAt] = useState<string | undefined>();
  const positions = useRef<Map<number, number> | undefined>(undefined);
  const only = choice === 'all' ? undefined : Number(choice);

  // While running: one reading loop, ended by pausing, stopping, a new choice or leaving the page.
  useEffect(() => {
    if (state !== 'running') return;
    const controller = new AbortController();
    const add = (arrived: Tailed[]) => {
      if (arrived.length > 0 && !controller.signal.aborted) {
        setRecords((shown) => [...shown, ...arrived].slice(-TAIL_LIMIT));
      }
    };
    void (async () => {
      try {
        const from = await startPositions(topic, only, positions.current);
        if (controller.signal.aborted) return;
        positions.current = from;
        setStartedAt(describePositions(from));
        await follow(topic, only, from, controller.signal, add, setProblem);
      } catch (error) {
        if (!controller.signal.aborted) {
          setProblem(describeFailure(error));
          setState('paused');
        }
      }
    })();
    return () => controller.abort();
  }, [state, topic, only]);

  // A hidden tab reads nothing; the tail goes on when the tab is shown again.
  useEffect(() => {
    const onVisibility = () => {
      if (document.hidden) setState((now) => (now === 'running' ? 'hidden' : now));
      else setState((now) => (now === 'hidden' ? 'running' : now));
    };
    document.addEventListener('visibilitychange', onVisibility);
    return () => document.removeEventListener('visibilitychange', onVisibility);
  }, []);

  const start = () => {
    positions.current = undefined;
    setRecords([]);
    setProblem(undefined);
    setState('running');
  };
  const stop = () => {
    positions.current = undefined;
    setState('stopped');
  };

  return (
    <section class="panel" aria-labelledby="tail-title">
      <h2 id="tail-title">Live tail</h2>
      <div class="grid-form">
        <SelectField
          name="tail-partition"
          label="Follow"
          value={choice}
          onValue={(value) => {
            setChoice(value);
            positions.current = undefined;
            setRecords([]);
          }}
        >
          <option value="all">all partitions</option>
          {Array.from({ length: partitions }, (_, i) => (
            <option key={i} value={String(i)}>
              partition {i}
            </option>
          ))}
        </SelectField>
        <div class="field">
          <label>
            <input
              type="checkbox"
              role="switch"
              name="tail"
              checked={state !== 'stopped'}
              aria-checked={state !== 'stopped'}
              onChange={(event) => (event.currentTarget.checked ? start() : stop())}
            />
            Follow new records
          </label>{' '}
          {state === 'paused' && (
            <button type="button" class="secondary" onClick={() => setState('running')}>
              Resume
            </button>
          )}
          {(state === 'running' || state === 'hidden') && (
            <button type="button" class="secondary outline" onClick={() => setState('paused')}>
              Pause
            </button>
          )}
        </div>
      </div>
      <p class="muted" data-field="tail-state" aria-live="polite">
        {tailStatus(state, only, records.length, startedAt)}
        {problem !== undefined && state === 'running' && <> Last read failed: {problem}; retrying.</>}
        {problem !== undefined && state === 'paused' && <> It stopped: {problem}</>}
      </p>
      {records.length > 0 && (
        <DataTable
          className="records"
          headings={[
            ...(only === undefined ? ['Partition'] : []),
            'Offset',
            'Timestamp',
            'Key',
            'Value',
            'Headers',
          ]}
          caption={`The newest ${records.length} record${records.length === 1 ? '' : 's'} since the tail started, newest first (at most ${TAIL_LIMIT})`}
        >
          {records
            .slice()
            .reverse()
            .map(({ partition, record }) => (
              <Row
                key={`${partition}:${record.offset}`}
                record={record}
                partition={only === undefined ? partition : undefined}
              />
            ))}
        </DataTable>
      )}
    </section>
  );
}

/** `partition 0 from offset 12`, or `3 partitions` for all of them. */
function describePositions(positions: Map<number, number>): string {
  const [first] = positions;
  if (positions.size === 1 && first !== undefined) return `partition ${first[0]} from offset ${first[1]}`;
  return `${positions.size} partitions`;
}

function tailStatus(state: State, only: number | undefined, shown: number, startedAt: string | undefined) {
  const what = only === undefined ? 'all partitions' : `partition ${only}`;
  switch (state) {
    case 'stopped':
      return `Off. Turn it on to see records as they are written to ${what}, newest first.`;
    case 'hidden':
      return `Paused while this tab is hidden; it goes on when the tab is shown again (${shown} shown).`;
    case 'paused':
      return `Paused: nothing is read until you resume (${shown} shown).`;
    default:
      return startedAt === undefined
        ? `Starting: finding the newest records of ${what}…`
        : `Following ${startedAt}: ${shown === 0 ? 'waiting for new records' : `${shown} new record${shown === 1 ? '' : 's'}`}.`;
  }
}
