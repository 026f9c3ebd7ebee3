/**
 * A topic: its config and the form that changes it (topic-config.tsx), each partition's log start and
 * high watermark, a message browser, a live tail of new records (tail.tsx) and a produce form. The
 * browser reads with `encoding=base64` and decodes in decode.ts.
 */

import { useState } from 'preact/hooks';
import { ApiError, api, describeFailure } from '../api.ts';
import type { FetchedRecord, TopicDetails } from '../api-types.ts';
import { AvroOrBytes } from '../avro-view.tsx';
import { type Decoded, decodeField } from '../decode.ts';
import {
  InputField,
  localDateTime,
  OffsetField,
  partitionOptions,
  SelectField,
  TextAreaField,
  TimeField,
} from '../fields.tsx';
import { useLoad } from '../load.ts';
import { Failure, formatBytes, formatTime, Loading, Missing } from '../notices.tsx';
import { RateChart } from '../rate-chart.tsx';
import { hrefs } from '../route.ts';
import { DataTable } from '../table.tsx';
import { TailPanel } from '../tail.tsx';
import { ConfigPanel } from './topic-config.tsx';

export function TopicPage({ topic }: { topic: string }) {
  const [details, reload] = useLoad(() => api.describeTopic(topic), [topic]);
  // Where the browser starts when the produce form points at a record it wrote.
  const [jump, setJump] = useState<{ partition: number; offset: number; round: number } | undefined>();
  // The latest read of the live chart, newer than the page's first load.
  const [fresh, setFresh] = useState<TopicDetails | undefined>();
  if (details.state === 'loading') return <Loading what={`topic ${topic}`} />;
  if (details.state === 'failed') {
    if (details.error instanceof ApiError && details.error.code === 'TOPIC_NOT_FOUND') {
      return (
        <Missing name={topic}>
          There is no topic named <code>{topic}</code>. <a href={hrefs.createTopic}>Create it</a>, or go back
          to the <a href={hrefs.overview}>overview</a> to pick another.
        </Missing>
      );
    }
    return <Failure error={details.error} what={`topic ${topic}`} />;
  }
  const value = details.value;
  return (
    <>
      <h1>
        Topic <code>{value.name}</code>
      </h1>
      <PartitionsPanel
        details={fresh ?? value}
        onRefresh={() => {
          setFresh(undefined);
          reload();
        }}
      />
      <RateChart topic={value.name} onSample={setFresh} />
      <ConfigPanel
        details={value}
        onChanged={() => {
          setFresh(undefined);
          reload();
        }}
      />
      <BrowserPanel
        topic={value.name}
        partitions={value.partitions.length}
        jump={jump}
        key={jump?.round ?? 0}
      />
      <TailPanel topic={value.name} partitions={value.partitions.length} Row={RecordRow} />
      <ProducePanel
        topic={value.name}
        partitions={value.partitions.length}
        onProduced={(partition, offset) => {
          setFresh(undefined);
          reload();
          setJump((previous) => ({ partition, offset, round: (previous?.round ?? 0) + 1 }));
        }}
      />
    </>
  );
}

function PartitionsPanel({ details, onRefresh }: { details: TopicDetails; onRefresh: () => void }) {
  return (
    <section class="panel" aria-labelledby="partitions-title">
      <h2 id="partitions-title">Partitions</h2>
      <DataTable headings={['Partition', 'Log start', 'High watermark', 'Batches', 'Bytes']}>
        {details.partitions.map((p) => (
          <tr key={p.partition} data-partition={p.partition}>
            <th scope="row">{p.partition}</th>
            <td data-field="log-start">{p.logStartOffset}</td>
            <td data-field="high-watermark">{p.highWatermark}</td>
            <td>{p.batches}</td>
            <td>{formatBytes(p.bytes)}</td>
          </tr>
        ))}
      </DataTable>
      <button type="button" class="secondary outline" onClick={onRefresh}>
        Refresh partitions
      </button>
    </section>
  );
}

type StartAt = 'offset' | 'time' | 'newest';

/** How much one page of the browser reads per fetch; a page shows at most `limit` records. */
const FETCH_BYTES = 1_048_576;

interface Page {
  partition: number;
  records: FetchedRecord[];
  /** Where the next page starts, and the end of the log when this page was read. */
  nextOffset: number;
  highWatermark: number;
  logStartOffset: number;
  /** What was asked, to say so when nothing came back. */
  asked: string;
}

/** Reads up to `limit` records from `offset`, page after page, stopping at the high watermark. */
async function readRecords(topic: string, partition: number, offset: number, limit: number, asked: string) {
  const records: FetchedRecord[] = [];
  let next = offset;
  for (;;) {
    const page = await api.fetch(topic, partition, next, FETCH_BYTES);
    records.push(...page.records);
    next = page.nextOffset;
    if (records.length >= limit || page.records.length === 0 || next >= page.highWatermark) {
      return {
        partition,
        records: records.slice(0, limit),
        nextOffset: records.length > limit ? (records[limit] as FetchedRecord).offset : next,
        highWatermark: page.highWatermark,
        logStartOffset: page.logStartOffset,
        asked,
      } satisfies Page;
    }
  }
}

function BrowserPanel({
  topic,
  partitions,
  jump,
}: {
  topic: string;
  partitions: number;
  jump: { partition: number; offset: number } | undefined;
}) {
  const [partition, setPartition] = useState(String(jump?.partition ?? 0));
  const [startAt, setStartAt] = useState<StartAt>(jump === undefined ? 'newest' : 'offset');
  const [offset, setOffset] = useState(String(jump?.offset ?? 0));
  const [time, setTime] = useState(() => localDateTime(Date.now() - 3_600_000));
  const [limit, setLimit] = useState('20');
  const [page, setPage] = useState<Page | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const read = async (from?: number) => {
    setError(undefined);
    setBusy(true);
    try {
      const p = Number(partition);
      const n = Math.max(1, Number(limit));
      if (from !== undefined) {
        setPage(await readRecords(topic, p, from, n, `offset ${from}`));
      } else if (startAt === 'offset') {
        setPage(await readRecords(topic, p, Number(offset), n, `offset ${offset}`));
      } else if (startAt === 'time') {
        const at = new Date(time).getTime();
        if (Number.isNaN(at)) throw new Error('enter a date and time to start from');
        const found = await api.offsets(topic, p, Math.max(0, at));
        const start = found.offset ?? found.highWatermark;
        setPage(await readRecords(topic, p, start, n, `the first record at or after ${formatTime(at)}`));
      } else {
        const ends = await api.offsets(topic, p);
        const start = Math.max(ends.logStartOffset, ends.highWatermark - n);
        setPage(await readRecords(topic, p, start, n, `the newest ${n}`));
      }
    } catch (failure) {
      setError(
        failure instanceof ApiError && failure.code === 'OFFSET_OUT_OF_RANGE'
          ? `${describeFailure(failure)}. Pick an offset in that range, or start at the newest records.`
          : describeFailure(failure),
      );
      setPage(undefined);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="panel" aria-labelledby="browser-title">
      <h2 id="browser-title">Messages</h2>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void read();
        }}
      >
        <div class="grid-form">
          <SelectField name="browse-partition" label="Partition" value={partition} onValue={setPartition}>
            {partitionOptions(partitions)}
          </SelectField>
          <SelectField
            name="start-at"
            label="Start at"
            value={startAt}
            onValue={(value) => setStartAt(value as StartAt)}
          >
            <option value="newest">the newest records</option>
            <option value="offset">an offset</option>
            <option value="time">a time</option>
          </SelectField>
          {startAt === 'offset' && <OffsetField name="offset" value={offset} onValue={setOffset} />}
          {startAt === 'time' && <TimeField name="time" value={time} onValue={setTime} />}
          <InputField
            name="limit"
            label="Records"
            type="number"
            min={1}
            max={500}
            required
            value={limit}
            onValue={setLimit}
          />
        </div>
        <button type="submit" aria-busy={busy} disabled={busy}>
          Show records
        </button>
      </form>
      {error !== undefined && (
        <p role="alert" class="notice-error">
          {error}
        </p>
      )}
      {page !== undefined && <RecordsView page={page} onNext={() => void read(page.nextOffset)} />}
    </section>
  );
}

function RecordsView({ page, onNext }: { page: Page; onNext: () => void }) {
  return (
    <div aria-live="polite">
      <p class="muted">
        Partition {page.partition}: offsets {page.logStartOffset} to {page.highWatermark - 1} are readable
        (high watermark {page.highWatermark}).
      </p>
      {page.records.length === 0 ? (
        <p>
          No records at {page.asked}: the partition has none there yet. Produce one below, or start at the
          newest records.
        </p>
      ) : (
        <DataTable
          className="records"
          headings={['Offset', 'Timestamp', 'Key', 'Value', 'Headers']}
          caption={`${page.records.length} record${page.records.length === 1 ? '' : 's'} from ${page.asked}`}
        >
          {page.records.map((record) => (
            <RecordRow key={record.offset} record={record} />
          ))}
        </DataTable>
      )}
      {page.nextOffset < page.highWatermark && (
        <button type="button" class="secondary" onClick={onNext}>
          Next records (from offset {page.nextOffset})
        </button>
      )}
    </div>
  );
}

function Bytes({ decoded }: { decoded: Decoded }) {
  if (decoded.kind === 'null') return <span class="muted">null</span>;
  return (
    <>
      {decoded.kind !== 'text' && (
        <span class="kind">{decoded.kind === 'hex' ? `hex, ${decoded.bytes} bytes` : decoded.kind}</span>
      )}
      <pre class="value">{decoded.text}</pre>
    </>
  );
}

/** A header value on its line: text as is, bytes that are not text as hex. */
function HeaderValue({ decoded }: { decoded: Decoded }) {
  if (decoded.kind === 'null') return <span class="muted">null</span>;
  if (decoded.kind === 'hex') return <code title={`${decoded.bytes} bytes, hex`}>{decoded.text}</code>;
  return <span>{decoded.text}</span>;
}

/** A record as a table row; with `partition`, a first cell names its partition (the live tail of all). */
function RecordRow({ record, partition }: { record: FetchedRecord; partition?: number }) {
  const key = decodeField(record.keyBase64 ?? (record.key === null ? null : undefined));
  const value = decodeField(record.valueBase64 ?? (record.value === null ? null : undefined));
  const headers = [
    ...Object.entries(record.headersBase64 ?? {}).map(
      ([name, base64]) => [name, decodeField(base64)] as const,
    ),
    ...Object.entries(record.headers)
      .filter(([, v]) => v === null)
      .map(([name]) => [name, { kind: 'null' } as Decoded] as const),
  ];
  return (
    <tr data-offset={record.offset} data-partition={partition}>
      {partition !== undefined && <td data-field="partition">{partition}</td>}
      <th scope="row">{record.offset}</th>
      <td>
        <time dateTime={new Date(record.timestamp).toISOString()}>{formatTime(record.timestamp)}</time>
      </td>
      <td data-field="key">
        <AvroOrBytes base64={record.keyBase64}>
          <Bytes decoded={key} />
        </AvroOrBytes>
      </td>
      <td data-field="value">
        <AvroOrBytes base64={record.valueBase64}>
          <Bytes decoded={value} />
        </AvroOrBytes>
      </td>
      <td data-field="headers">
        {headers.length === 0 ? (
          <span class="muted">none</span>
        ) : (
          <ul class="headers">
            {headers.map(([name, decoded]) => (
              <li key={name}>
                <strong>{name}</strong>: <HeaderValue decoded={decoded} />
              </li>
            ))}
          </ul>
        )}
      </td>
    </tr>
  );
}

/** `name: value` lines; a line without a colon is a mistake the form reports. */
export function parseHeaders(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [index, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`header line ${index + 1} needs the form "name: value"`);
    const name = line.slice(0, colon).trim();
    if (name in headers) throw new Error(`header "${name}" is given twice; names must be unique`);
    headers[name] = line.slice(colon + 1).trim();
  }
  return headers;
}

function ProducePanel({
  topic,
  partitions,
  onProduced,
}: {
  topic: string;
  partitions: number;
  onProduced: (partition: number, offset: number) => void;
}) {
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const [headers, setHeaders] = useState('');
  const [partition, setPartition] = useState('auto');
  const [result, setResult] = useState<{ ok: boolean; text: string } | undefined>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setResult(undefined);
    setBusy(true);
    try {
      const parsedHeaders = parseHeaders(headers);
      const answer = await api.produce(topic, {
        ...(key === '' ? {} : { key }),
        value,
        ...(Object.keys(parsedHeaders).length === 0 ? {} : { headers: parsedHeaders }),
        ...(partition === 'auto' ? {} : { partition: Number(partition) }),
      });
      const written = answer.offsets[0];
      if (written === undefined) throw new Error('the server answered no offset');
      setResult({ ok: true, text: `Written to partition ${written.partition} at offset ${written.offset}.` });
      onProduced(written.partition, written.offset);
    } catch (failure) {
      setResult({ ok: false, text: describeFailure(failure) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="panel" aria-labelledby="produce-title">
      <h2 id="produce-title">Produce a record</h2>
      <form onSubmit={submit}>
        <div class="grid-form">
          <InputField name="key" label="Key (empty for none)" value={key} onValue={setKey} />
          <SelectField name="produce-partition" label="Partition" value={partition} onValue={setPartition}>
            <option value="auto">by key (or rotating without one)</option>
            {partitionOptions(partitions)}
          </SelectField>
        </div>
        <TextAreaField
          name="value"
          label="Value (stored as UTF-8 text; JSON is shown pretty)"
          rows={4}
          value={value}
          onValue={setValue}
        />
        <TextAreaField
          name="headers"
          label={
            <>
              Headers (one <code>name: value</code> a line)
            </>
          }
          rows={2}
          value={headers}
          onValue={setHeaders}
        />
        <button type="submit" aria-busy={busy} disabled={busy}>
          Produce
        </button>
      </form>
      {result !== undefined && (
        <p role={result.ok ? 'status' : 'alert'} class={result.ok ? 'notice-ok' : 'notice-error'}>
          {result.text}
        </p>
      )}
    </section>
  );
}
