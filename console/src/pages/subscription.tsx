/**
 * A subscription: its configuration, whether it runs, and each partition's delivery status (committed
 * offset, lag, attempts at the failing batch, last error, last delivery, dead-lettered records), with
 * pause and resume (PATCH `enabled`).
 */

import { OutcomeNotice, useAction } from '../action.tsx';
import { ApiError, api } from '../api.ts';
import type { SubscriptionDetails } from '../api-types.ts';
import { useLoad } from '../load.ts';
import { Failure, formatTime, Loading, Missing } from '../notices.tsx';
import { hrefs } from '../route.ts';
import { DataTable } from '../table.tsx';

export function SubscriptionPage({ subscription }: { subscription: string }) {
  const [details, reload] = useLoad(() => api.describeSubscription(subscription), [subscription]);
  if (details.state === 'loading') return <Loading what={`subscription ${subscription}`} />;
  if (details.state === 'failed') {
    if (details.error instanceof ApiError && details.error.code === 'SUBSCRIPTION_NOT_FOUND') {
      return (
        <Missing name={subscription}>
          There is no subscription named <code>{subscription}</code>. Go back to the{' '}
          <a href={hrefs.overview}>overview</a> to pick another, or create it with{' '}
          <code>npx streambed subscriptions create {subscription} --topic … --target-url …</code>.
        </Missing>
      );
    }
    return <Failure error={details.error} what={`subscription ${subscription}`} />;
  }
  const value = details.value;
  return (
    <>
      <h1>
        Subscription <code>{value.name}</code>
      </h1>
      <StatePanel details={value} onChanged={reload} />
      <DeliveryPanel details={value} onRefresh={reload} />
    </>
  );
}

function StatePanel({ details, onChanged }: { details: SubscriptionDetails; onChanged: () => void }) {
  const action = useAction();
  const change = (enabled: boolean) =>
    void action.run(async () => {
      await api.changeSubscription(details.name, { enabled });
      onChanged();
      return enabled
        ? 'Resumed: delivery goes on from the committed offsets.'
        : 'Paused: nothing is delivered until you resume.';
    });
  const target = 'url' in details.target ? details.target.url : `function ${details.target.function}`;
  return (
    <section class="panel" aria-labelledby="state-title">
      <h2 id="state-title">State</h2>
      <table>
        <tbody>
          <tr>
            <th scope="row">State</th>
            <td data-field="state">{details.enabled ? 'running' : 'paused'}</td>
          </tr>
          <tr>
            <th scope="row">Topic</th>
            <td>
              <a href={hrefs.topic(details.topic)}>{details.topic}</a>
            </td>
          </tr>
          <tr>
            <th scope="row">Target</th>
            <td>
              <code>{target}</code>
            </td>
          </tr>
          <tr>
            <th scope="row">Batches</th>
            <td>
              up to {details.batchSize} records, gathered for up to {details.maxBatchingWindowMs} ms
              {details.bisectBatchOnError ? '; a failing batch is halved' : ''}
            </td>
          </tr>
          <tr>
            <th scope="row">Retries</th>
            <td>
              {details.maxRetryAttempts === null
                ? 'forever'
                : `${details.maxRetryAttempts}, then to ${details.deadLetterTopic ?? 'no dead-letter topic'}`}
            </td>
          </tr>
          <tr>
            <th scope="row">Position</th>
            <td>
              group <a href={hrefs.group(details.group)}>{details.group}</a>
            </td>
          </tr>
        </tbody>
      </table>
      {details.enabled ? (
        <button
          type="button"
          class="secondary"
          aria-busy={action.busy}
          disabled={action.busy}
          onClick={() => change(false)}
        >
          Pause delivery
        </button>
      ) : (
        <button type="button" aria-busy={action.busy} disabled={action.busy} onClick={() => change(true)}>
          Resume delivery
        </button>
      )}
      <OutcomeNotice outcome={action.outcome} />
    </section>
  );
}

function When({ at }: { at: number | null }) {
  if (at === null) return <span class="muted">never</span>;
  return <time dateTime={new Date(at).toISOString()}>{formatTime(at)}</time>;
}

function DeliveryPanel({ details, onRefresh }: { details: SubscriptionDetails; onRefresh: () => void }) {
  return (
    <section class="panel" aria-labelledby="delivery-title">
      <h2 id="delivery-title">Delivery per partition</h2>
      <DataTable
        className="records"
        headings={[
          'Partition',
          'Committed offset',
          'High watermark',
          'Lag',
          'Attempts',
          'Last error',
          'Last delivery',
          'Dead-lettered',
        ]}
      >
        {details.partitions.map((p) => (
          <tr key={p.partition} data-partition={p.partition}>
            <th scope="row">{p.partition}</th>
            <td data-field="committed">
              {p.committedOffset === null ? <span class="muted">none yet</span> : p.committedOffset}
            </td>
            <td>{p.highWatermark}</td>
            <td data-field="lag">{p.lag}</td>
            <td data-field="attempts">{p.attempts}</td>
            <td data-field="last-error">
              {p.lastError === null ? (
                <span class="muted">none</span>
              ) : (
                <>
                  <When at={p.lastErrorTime} />: {p.lastError}
                </>
              )}
            </td>
            <td data-field="last-delivery">
              <When at={p.lastDeliveryTime} />
            </td>
            <td data-field="dead-lettered">{p.deadLettered}</td>
          </tr>
        ))}
      </DataTable>
      <button type="button" class="secondary outline" onClick={onRefresh}>
        Refresh delivery status
      </button>
    </section>
  );
}
