/**
 * Overview: records in and out per second (live) and the janitor's last pass (overview-activity.tsx),
 * every topic with its partitions, records, bytes and high watermarks, every consumer group and
 * subscription with its total lag, and the schema registry's subjects. Built from the list and
 * describe routes (docs/api.md) and the registry's subject list.
 */
import { api } from '../api.ts';
import type { GroupDetails, SubscriptionDetails, TopicDetails } from '../api-types.ts';
import { describeAll, useLoad } from '../load.ts';
import { Failure, formatBytes, Loading } from '../notices.tsx';
import { registry } from '../registry.ts';
import { hrefs } from '../route.ts';
import { DataTable } from '../table.tsx';
import { ActivityPanels, JanitorPanel } from './overview-activity.tsx';

export function OverviewPage() {
  return (
    <>
      <h1>Overview</h1>
      <ActivityPanels />
      <TopicsPanel />
      <GroupsPanel />
      <SubscriptionsPanel />
      <SchemasPanel />
      <JanitorPanel />
    </>
  );
}

function TopicsPanel() {
  const [topics, reload] = useLoad(
    async () => describeAll((await api.listTopics()).topics, (name) => api.describeTopic(name)),
    [],
  );
  return (
    <section class="panel" aria-labelledby="topics-title">
      <h2 id="topics-title">Topics</h2>
      {topics.state === 'loading' && <Loading what="topics" />}
      {topics.state === 'failed' && <Failure error={topics.error} what="the topics" />}
      {topics.state === 'loaded' &&
        (topics.value.length === 0 ? (
          <p>
            No topics yet. <a href={hrefs.createTopic}>Create one with the form</a>, or with{' '}
            <code>npx streambed topics create orders --partitions 3</code>.
          </p>
        ) : (
          <TopicsTable topics={topics.value} />
        ))}
      <p>
        <button type="button" class="secondary outline" onClick={reload}>
          Refresh topics
        </button>{' '}
        <a href={hrefs.createTopic}>Create a topic</a>
      </p>
    </section>
  );
}

function TopicsTable({ topics }: { topics: TopicDetails[] }) {
  return (
    <DataTable headings={['Topic', 'Partitions', 'Records', 'Bytes', 'High watermarks']}>
      {topics.map((topic) => {
        const records = topic.partitions.reduce((sum, p) => sum + p.highWatermark - p.logStartOffset, 0);
        const bytes = topic.partitions.reduce((sum, p) => sum + p.bytes, 0);
        return (
          <tr key={topic.name} data-topic={topic.name}>
            <th scope="row">
              <a href={hrefs.topic(topic.name)}>{topic.name}</a>
            </th>
            <td>{topic.partitions.length}</td>
            <td data-field="records">{records}</td>
            <td>{formatBytes(bytes)}</td>
            <td data-field="high-watermarks">
              {topic.partitions.map((p) => `${p.partition}: ${p.highWatermark}`).join(' · ')}
            </td>
          </tr>
        );
      })}
    </DataTable>
  );
}

function GroupsPanel() {
  const [groups, reload] = useLoad(
    async () => describeAll((await api.listGroups()).groups, (name) => api.describeGroup(name)),
    [],
  );
  return (
    <section class="panel" aria-labelledby="groups-title">
      <h2 id="groups-title">Consumer groups</h2>
      {groups.state === 'loading' && <Loading what="consumer groups" />}
      {groups.state === 'failed' && <Failure error={groups.error} what="the consumer groups" />}
      {groups.state === 'loaded' &&
        (groups.value.length === 0 ? (
          <p>
            No consumer groups yet. A group appears when its first consumer joins: a Kafka client, the SDK's{' '}
            <code>Consumer</code>, or{' '}
            <code>npx streambed consume orders --group billing --from-beginning</code>.
          </p>
        ) : (
          <GroupsTable groups={groups.value} />
        ))}
      <p>
        <button type="button" class="secondary outline" onClick={reload}>
          Refresh groups
        </button>
      </p>
    </section>
  );
}

function GroupsTable({ groups }: { groups: GroupDetails[] }) {
  return (
    <DataTable headings={['Group', 'Members', 'Topics', 'Total lag']}>
      {groups.map((group) => (
        <tr key={group.group} data-group={group.group}>
          <th scope="row">
            <a href={hrefs.group(group.group)}>{group.group}</a>
          </th>
          <td>{group.members.length}</td>
          <td>{[...new Set(group.partitions.map((p) => p.topic))].join(', ') || '—'}</td>
          <td data-field="lag">{group.partitions.reduce((sum, p) => sum + p.lag, 0)}</td>
        </tr>
      ))}
    </DataTable>
  );
}

function SubscriptionsPanel() {
  const [subscriptions, reload] = useLoad(
    async () =>
      describeAll(
        (await api.listSubscriptions()).subscriptions.map((s) => s.name),
        (name) => api.describeSubscription(name),
      ),
    [],
  );
  return (
    <section class="panel" aria-labelledby="subscriptions-title">
      <h2 id="subscriptions-title">Subscriptions</h2>
      {subscriptions.state === 'loading' && <Loading what="subscriptions" />}
      {subscriptions.state === 'failed' && <Failure error={subscriptions.error} what="the subscriptions" />}
      {subscriptions.state === 'loaded' &&
        (subscriptions.value.length === 0 ? (
          <p>
            No subscriptions yet. A subscription delivers a topic's records to a URL: create one with{' '}
            <code>npx streambed subscriptions create orders-hook --topic orders --target-url http://…</code>{' '}
            (see docs/subscriptions.md).
          </p>
        ) : (
          <SubscriptionsTable subscriptions={subscriptions.value} />
        ))}
      <p>
        <button type="button" class="secondary outline" onClick={reload}>
          Refresh subscriptions
        </button>
      </p>
    </section>
  );
}

function SubscriptionsTable({ subscriptions }: { subscriptions: SubscriptionDetails[] }) {
  return (
    <DataTable headings={['Subscription', 'Topic', 'Target', 'State', 'Total lag', 'Failing partitions']}>
      {subscriptions.map((s) => (
        <tr key={s.name} data-subscription={s.name}>
          <th scope="row">
            <a href={hrefs.subscription(s.name)}>{s.name}</a>
          </th>
          <td>
            <a href={hrefs.topic(s.topic)}>{s.topic}</a>
          </td>
          <td>{'url' in s.target ? s.target.url : s.target.function}</td>
          <td>{s.enabled ? 'running' : 'paused'}</td>
          <td data-field="lag">{s.partitions.reduce((sum, p) => sum + p.lag, 0)}</td>
          <td>{s.partitions.filter((p) => p.attempts > 0).length}</td>
        </tr>
      ))}
    </DataTable>
  );
}

function SchemasPanel() {
  const [subjects, reload] = useLoad(() => registry.subjects(), []);
  return (
    <section class="panel" aria-labelledby="schemas-title">
      <h2 id="schemas-title">Schemas</h2>
      {subjects.state === 'loading' && <Loading what="the schema registry" />}
      {subjects.state === 'failed' && <Failure error={subjects.error} what="the schema registry" />}
      {subjects.state === 'loaded' &&
        (subjects.value.length === 0 ? (
          <p data-field="no-subjects">
            No schemas yet. <a href={hrefs.schemas}>Register one on the Schemas page</a>; producers using the
            registry (<code>avroSerde</code>) register theirs themselves.
          </p>
        ) : (
          <p data-field="subjects">
            {subjects.value.length === 1 ? '1 subject' : `${subjects.value.length} subjects`} in the schema
            registry:{' '}
            {subjects.value.map((subject, i) => (
              <span key={subject}>
                {i > 0 && ', '}
                <a href={hrefs.subject(subject)}>{subject}</a>
              </span>
            ))}
            . <a href={hrefs.schemas}>All schemas and the global compatibility level</a>
          </p>
        ))}
      <p>
        <button type="button" class="secondary outline" onClick={reload}>
          Refresh schemas
        </button>
      </p>
    </section>
  );
}
