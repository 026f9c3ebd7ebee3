/**
 * A topic's config, and the form that changes it (`PATCH /v1/topics/{topic}`): the settings the API
 * accepts, and the partition count, which can only be raised, so a raise is confirmed first. The
 * server checks every value; its refusal is shown as it says it, and nothing is changed then.
 */
import { useState } from 'preact/hooks';
import { Confirm, OutcomeNotice, useAction } from '../action.tsx';
import { ApiError, api } from '../api.ts';
import type { TopicChange, TopicDetails } from '../api-types.ts';
import { InputField } from '../fields.tsx';

const CONFIG_NOTES: Record<string, string> = {
  'retention.ms': 'delete batches older than this (ms); −1 keeps forever',
  'retention.bytes': 'delete the oldest batches past this size per partition; −1 no limit',
  'max.message.bytes': 'largest record, in bytes',
  'cleanup.policy': 'only delete',
  'message.timestamp.before.max.ms': 'refuse records stamped further in the past (ms)',
  'message.timestamp.after.max.ms': 'refuse records stamped further in the future (ms)',
};

/** The settings the form edits: every config the API accepts but `cleanup.policy` (only `delete`). */
const EDITABLE = [
  'retention.ms',
  'retention.bytes',
  'max.message.bytes',
  'message.timestamp.before.max.ms',
  'message.timestamp.after.max.ms',
] as const;

type Editable = (typeof EDITABLE)[number];

const UNITS: [number, string][] = [
  [86_400_000, 'day'],
  [3_600_000, 'hour'],
  [60_000, 'minute'],
  [1_000, 'second'],
];

/** A span in milliseconds in words, when it is a whole number of some unit: `7 days`, `90 seconds`. */
export function describeMs(text: string): string | undefined {
  if (!/^-?\d+$/.test(text.trim())) return undefined;
  const ms = Number(text);
  if (ms === -1) return 'forever';
  if (ms >= Number.MAX_SAFE_INTEGER) return 'no bound';
  for (const [size, unit] of UNITS) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${unit}${ms === size ? '' : 's'}`;
  }
  return undefined;
}

export function ConfigPanel({ details, onChanged }: { details: TopicDetails; onChanged: () => void }) {
  return (
    <section class="panel" aria-labelledby="config-title">
      <h2 id="config-title">Config</h2>
      <div class="overflow-auto">
        <table>
          <tbody>
            {Object.entries(details.config).map(([key, value]) => (
              <tr key={key}>
                <th scope="row">
                  <code>{key}</code>
                </th>
                <td data-config={key}>{String(value)}</td>
                <td class="muted config-note">{CONFIG_NOTES[key] ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <details>
        <summary>Change config or partitions</summary>
        <ChangeForm details={details} onChanged={onChanged} />
      </details>
    </section>
  );
}

/** What the API says when it refuses a change, and what that means here. */
function refused(error: unknown): string | undefined {
  if (error instanceof ApiError && error.status === 400)
    return 'Nothing was changed; correct it and save again.';
  if (error instanceof ApiError && error.status === 409) {
    return 'The topic was being changed at the same time; nothing was changed here. Try again.';
  }
  return undefined;
}

function ChangeForm({ details, onChanged }: { details: TopicDetails; onChanged: () => void }) {
  const current = (key: Editable) => String(details.config[key]);
  const [values, setValues] = useState<Record<Editable, string>>(
    () => Object.fromEntries(EDITABLE.map((key) => [key, current(key)])) as Record<Editable, string>,
  );
  const [partitions, setPartitions] = useState(String(details.partitions.length));
  const [confirming, setConfirming] = useState<TopicChange | undefined>();
  const [notice, setNotice] = useState<{ ok: boolean; text: string } | undefined>();
  const { busy, outcome, run } = useAction(refused);
  const count = details.partitions.length;

  /** The fields that differ from the topic as loaded; config values go as typed, the server checks them. */
  const change = (): TopicChange | undefined => {
    const config: Record<string, string> = {};
    for (const key of EDITABLE) {
      const value = values[key].trim();
      if (value !== current(key)) config[key] = value;
    }
    const raised = partitions.trim() === String(count) ? undefined : Number(partitions);
    if (Object.keys(config).length === 0 && raised === undefined) return undefined;
    return {
      ...(Object.keys(config).length === 0 ? {} : { config }),
      ...(raised === undefined ? {} : { partitions: raised }),
    };
  };

  const save = (wanted: TopicChange) =>
    run(async () => {
      setNotice(undefined);
      setConfirming(undefined);
      const saved = await api.alterTopic(details.name, wanted);
      onChanged();
      const parts = [
        ...Object.keys((wanted.config ?? {}) as object).map(
          (key) => `${key} ${String(saved.config[key as keyof typeof saved.config])}`,
        ),
        ...(wanted.partitions === undefined ? [] : [`${saved.partitions} partitions`]),
      ];
      return `Saved: ${parts.join(', ')}.`;
    });

  const submit = (event: Event) => {
    event.preventDefault();
    const wanted = change();
    if (wanted === undefined) {
      setNotice({ ok: true, text: 'Nothing to save: every value is as it is now.' });
    } else if (
      wanted.partitions !== undefined &&
      (!Number.isInteger(wanted.partitions) || wanted.partitions < count)
    ) {
      setNotice({
        ok: false,
        text: `Partitions can only be raised: enter a whole number above ${count}, or ${count} to keep them.`,
      });
    } else if (wanted.partitions !== undefined) {
      setNotice(undefined);
      setConfirming(wanted);
    } else void save(wanted);
  };

  return (
    <form onSubmit={submit}>
      <div class="config-form">
        {EDITABLE.map((key) => (
          <InputField
            key={key}
            name={`config-${key}`}
            label={<code>{key}</code>}
            value={values[key]}
            onValue={(value) => setValues((previous) => ({ ...previous, [key]: value }))}
            help={key.endsWith('.ms') ? (describeMs(values[key]) ?? CONFIG_NOTES[key]) : CONFIG_NOTES[key]}
          />
        ))}
        <InputField
          name="partitions"
          label="Partitions"
          type="number"
          min={count}
          step={1}
          required
          value={partitions}
          onValue={setPartitions}
          help={`Can only be raised (now ${count}); keyed records then go to other partitions.`}
        />
      </div>
      {confirming === undefined ? (
        <button type="submit" aria-busy={busy} disabled={busy}>
          Save changes
        </button>
      ) : (
        <Confirm
          question={
            <>
              Raise <code>{details.name}</code> from {count} to {confirming.partitions} partitions? This
              cannot be undone: partitions can never be removed, and records with a key go to other partitions
              from now on.
            </>
          }
          confirmLabel={`Raise to ${confirming.partitions} partitions`}
          busy={busy}
          onConfirm={() => void save(confirming)}
          onCancel={() => setConfirming(undefined)}
        />
      )}
      <OutcomeNotice outcome={notice ?? outcome} />
    </form>
  );
}
