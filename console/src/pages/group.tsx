/**
 * A consumer group: its live members, each partition's owner, epoch, committed offset, high watermark
 * and lag, the total lag live, and the two changes the API allows while the group has no live members:
 * reset its offsets and delete it, each confirmed first.
 */
import { useState } from 'preact/hooks';
import { Confirm, OutcomeNotice, useAction } from '../action.tsx';
import { ApiError, api } from '../api.ts';
import type { GroupDetails, OffsetReset } from '../api-types.ts';
import { localDateTime, OffsetField, partitionOptions, SelectField, TimeField } from '../fields.tsx';
import { LiveChart } from '../live-chart.tsx';
import { useLoad } from '../load.ts';
import { Failure, formatTime, Loading } from '../notices.tsx';
import { hrefs } from '../route.ts';
import { DataTable } from '../table.tsx';

/** What to do when the API refuses a change because members are live (400 INVALID_REQUEST). */
function whileLive(error: unknown): string | undefined {
  if (error instanceof ApiError && error.code === 'INVALID_REQUEST' && /member/i.test(error.message)) {
    return 'Stop the group’s consumers (or wait until their sessions end), then try again.';
  }
  return undefined;
}

const totalLag = (details: GroupDetails) => details.partitions.reduce((sum, p) => sum + p.lag, 0);

export function GroupPage({ group }: { group: string }) {
  const [details, reload] = useLoad(() => api.describeGroup(group), [group]);
  // The latest read of the live chart, newer than the page's first load.
  const [fresh, setFresh] = useState<GroupDetails | undefined>();
  const refresh = () => {
    setFresh(undefined);
    reload();
  };
  if (details.state === 'loading') return <Loading what={`group ${group}`} />;
  if (details.state === 'failed') return <Failure error={details.error} what={`group ${group}`} />;
  const value = fresh ?? details.value;
  return (
    <>
      <h1>
        Group <code>{group}</code>
      </h1>
      {value.members.length === 0 && value.partitions.length === 0 && (
        <p>
          This group has no members and no committed offsets: nobody has joined it, or it was deleted. It
          appears when a consumer joins, for example{' '}
          <code>npx streambed consume orders --group {group} --from-beginning</code>.
        </p>
      )}
      <MembersPanel details={value} />
      <GroupPartitionsPanel details={value} onRefresh={refresh} />
      <LiveChart
        id="total-lag"
        title="Lag, all partitions (live)"
        unit="records"
        description={`Records group ${group} has still to read`}
        waiting="Reading the lag…"
        subject={group}
        read={() => api.describeGroup(group)}
        point={(reading) => totalLag(reading.value)}
        format={String}
        onSample={setFresh}
      />
      <ResetPanel details={value} onReset={refresh} />
      <DeletePanel details={value} onDeleted={refresh} />
    </>
  );
}

function MembersPanel({ details }: { details: GroupDetails }) {
  return (
    <section class="panel" aria-labelledby="members-title">
      <h2 id="members-title">Live members</h2>
      {details.members.length === 0 ? (
        <p data-field="no-members">
          No live members: nobody is consuming now, so the offsets can be reset and the group deleted.
        </p>
      ) : (
        <DataTable headings={['Member', 'Topics', 'Session ends unless it heartbeats']}>
          {details.members.map((m) => (
            <tr key={m.memberId} data-member={m.memberId}>
              <th scope="row">
                <code>{m.memberId}</code>
              </th>
              <td>{m.topics.join(', ')}</td>
              <td>{formatTime(m.expiresAt)}</td>
            </tr>
          ))}
        </DataTable>
      )}
    </section>
  );
}

function GroupPartitionsPanel({ details, onRefresh }: { details: GroupDetails; onRefresh: () => void }) {
  return (
    <section class="panel" aria-labelledby="group-partitions-title">
      <h2 id="group-partitions-title">Partitions</h2>
      {details.partitions.length === 0 ? (
        <p>The group holds no partitions yet: they appear when a member joins with its topics.</p>
      ) : (
        <DataTable
          headings={['Topic', 'Partition', 'Owner', 'Epoch', 'Committed offset', 'High watermark', 'Lag']}
        >
          {details.partitions.map((p) => (
            <tr key={`${p.topic}/${p.partition}`} data-topic={p.topic} data-partition={p.partition}>
              <td>
                <a href={hrefs.topic(p.topic)}>{p.topic}</a>
              </td>
              <th scope="row">{p.partition}</th>
              <td>{p.owner === null ? <span class="muted">none</span> : <code>{p.owner}</code>}</td>
              <td>{p.epoch}</td>
              <td data-field="committed">
                {p.committedOffset === null ? <span class="muted">none</span> : p.committedOffset}
              </td>
              <td data-field="high-watermark">{p.highWatermark}</td>
              <td data-field="lag">{p.lag}</td>
            </tr>
          ))}
        </DataTable>
      )}
      <button type="button" class="secondary outline" onClick={onRefresh}>
        Refresh group
      </button>
    </section>
  );
}

type ResetTo = OffsetReset['to'];

const RESET_WORDS: Record<ResetTo, string> = {
  earliest: 'the earliest offset (the log start)',
  latest: 'the latest offset (the high watermark: skip everything written so far)',
  offset: 'an offset',
  timestamp: 'a time',
};

function ResetPanel({ details, onReset }: { details: GroupDetails; onReset: () => void }) {
  const topics = [...new Set(details.partitions.map((p) => p.topic))];
  const [topic, setTopic] = useState(topics[0] ?? '');
  const [partition, setPartition] = useState('all');
  const [to, setTo] = useState<ResetTo>('earliest');
  const [offset, setOffset] = useState('0');
  const [time, setTime] = useState(() => localDateTime(Date.now() - 3_600_000));
  const [asking, setAsking] = useState<OffsetReset | undefined>();
  const action = useAction(whileLive);
  const partitions = details.partitions.filter((p) => p.topic === topic).length;

  const ask = (event: Event) => {
    event.preventDefault();
    const at = new Date(time).getTime();
    setAsking({
      topic,
      to,
      ...(partition === 'all' ? {} : { partitions: [Number(partition)] }),
      ...(to === 'offset' ? { offset: Number(offset) } : {}),
      ...(to === 'timestamp' ? { timestamp: Math.max(0, at) } : {}),
    });
  };
  // Done or refused, the question is answered: the outcome says which.
  const confirm = (reset: OffsetReset) =>
    void action
      .run(async () => {
        const answer = await api.resetOffsets(details.group, reset);
        onReset();
        return `Reset: ${answer.partitions.map((p) => `${p.topic}/${p.partition} → ${p.committedOffset}`).join(', ')}.`;
      })
      .finally(() => setAsking(undefined));

  return (
    <section class="panel" aria-labelledby="reset-title">
      <h2 id="reset-title">Reset offsets</h2>
      <p class="muted">
        Moves where the group reads next. The API allows it only while the group has no live members
        {details.members.length > 0 && (
          <strong> (it has {details.members.length} now: stop them first, or the reset is refused)</strong>
        )}
        .
      </p>
      {topics.length === 0 ? (
        <p>There is nothing to reset: the group holds no partitions.</p>
      ) : (
        <form onSubmit={ask}>
          <div class="grid-form">
            <SelectField
              name="reset-topic"
              label="Topic"
              value={topic}
              onValue={(value) => {
                setTopic(value);
                setPartition('all');
              }}
            >
              {topics.map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </SelectField>
            <SelectField name="reset-partition" label="Partitions" value={partition} onValue={setPartition}>
              <option value="all">all</option>
              {partitionOptions(partitions)}
            </SelectField>
            <SelectField
              name="reset-to"
              label="Reset to"
              value={to}
              onValue={(value) => setTo(value as ResetTo)}
            >
              {Object.entries(RESET_WORDS).map(([value, words]) => (
                <option key={value} value={value}>
                  {words}
                </option>
              ))}
            </SelectField>
            {to === 'offset' && <OffsetField name="reset-offset" value={offset} onValue={setOffset} />}
            {to === 'timestamp' && (
              <TimeField
                name="reset-time"
                value={time}
                onValue={setTime}
                help="The first record at or after it; the high watermark when none is that recent."
              />
            )}
          </div>
          {asking === undefined ? (
            <button type="submit">Reset offsets…</button>
          ) : (
            <Confirm
              question={
                <>
                  Reset group <code>{details.group}</code> on <code>{asking.topic}</code>,{' '}
                  {asking.partitions === undefined ? 'all partitions' : `partition ${asking.partitions[0]}`},
                  to {asking.to === 'offset' ? `offset ${asking.offset}` : RESET_WORDS[asking.to]}
                  {asking.to === 'timestamp' && asking.timestamp !== undefined
                    ? ` (${formatTime(asking.timestamp)})`
                    : ''}
                  ? Its consumers will read from there when they join.
                </>
              }
              confirmLabel="Reset these offsets"
              busy={action.busy}
              onConfirm={() => confirm(asking)}
              onCancel={() => setAsking(undefined)}
            />
          )}
        </form>
      )}
      <OutcomeNotice outcome={action.outcome} />
    </section>
  );
}

function DeletePanel({ details, onDeleted }: { details: GroupDetails; onDeleted: () => void }) {
  const [asking, setAsking] = useState(false);
  const action = useAction(whileLive);
  return (
    <section class="panel" aria-labelledby="delete-title">
      <h2 id="delete-title">Delete the group</h2>
      <p class="muted">
        Deletes its committed offsets and its listing; a group of this name joined later starts with none.
        Allowed only while it has no live members.
      </p>
      {asking ? (
        <Confirm
          question={
            <>
              Delete group <code>{details.group}</code> and its committed offsets? This cannot be undone.
            </>
          }
          confirmLabel="Delete this group"
          busy={action.busy}
          onConfirm={() =>
            void action
              .run(async () => {
                await api.deleteGroup(details.group);
                onDeleted();
                return `Group ${details.group} is deleted.`;
              })
              .finally(() => setAsking(false))
          }
          onCancel={() => setAsking(false)}
        />
      ) : (
        <button type="button" class="secondary" onClick={() => setAsking(true)}>
          Delete group…
        </button>
      )}
      <OutcomeNotice outcome={action.outcome} />
      {action.outcome?.ok === true && <a href={hrefs.overview}>Back to the overview</a>}
    </section>
  );
}
