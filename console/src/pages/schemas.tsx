/**
 * The schema registry: its subjects and compatibility levels (`#/schemas`), a subject's versions, a
 * line diff between two of them and its own level (`#/schemas/<subject>`), and a form that registers
 * a new version only after the registry has said whether it is compatible.
 */
import { useState } from 'preact/hooks';
import { OutcomeNotice, useAction } from '../action.tsx';
import { describeFailure } from '../api.ts';
import { InputField, SelectField, TextAreaField } from '../fields.tsx';
import { foldUnchanged, lineDiff } from '../line-diff.ts';
import { useLoad } from '../load.ts';
import { Failure, Loading, Missing } from '../notices.tsx';
import {
  type CompatibilityLevel,
  type CompatibilityResult,
  isRegistryError,
  prettySchema,
  registry,
  type SubjectVersion,
} from '../registry.ts';
import { hrefs } from '../route.ts';
import { DataTable } from '../table.tsx';

/** What each level checks a new schema against (as Confluent defines them). */
const LEVELS = {
  BACKWARD: 'readers of the new schema can read data written with the latest version',
  BACKWARD_TRANSITIVE: 'readers of the new schema can read data written with every version',
  FORWARD: 'readers of the latest version can read data written with the new schema',
  FORWARD_TRANSITIVE: 'readers of every version can read data written with the new schema',
  FULL: 'backward and forward, with the latest version',
  FULL_TRANSITIVE: 'backward and forward, with every version',
  NONE: 'no check',
} satisfies Record<CompatibilityLevel, string>;

const levelOptions = Object.entries(LEVELS).map(([level, what]) => (
  <option key={level} value={level}>
    {level}: {what}
  </option>
));

export function SchemasPage() {
  const [loaded, reload] = useLoad(async () => {
    const [subjects, level] = await Promise.all([registry.subjects(), registry.globalLevel()]);
    const latest = await Promise.all(subjects.map((subject) => registry.version(subject, 'latest')));
    return { latest, level };
  }, []);
  return (
    <>
      <h1>Schemas</h1>
      {loaded.state === 'loading' && <Loading what="the schema registry" />}
      {loaded.state === 'failed' && <Failure error={loaded.error} what="the schema registry" />}
      {loaded.state === 'loaded' && (
        <>
          <section class="panel" aria-labelledby="subjects-title">
            <h2 id="subjects-title">Subjects</h2>
            {loaded.value.latest.length === 0 ? (
              <p data-field="no-subjects">
                No subjects yet. Register a first schema with the form below: name its subject after the topic
                it describes, <code>&lt;topic&gt;-value</code> for the topic's values (or{' '}
                <code>&lt;topic&gt;-key</code> for its keys), paste the Avro schema, check it, then register
                it. Producers using the registry (<code>avroSerde</code>) register theirs the same way.
              </p>
            ) : (
              <DataTable headings={['Subject', 'Latest version', 'Schema id']}>
                {loaded.value.latest.map((latest) => (
                  <tr key={latest.subject} data-subject={latest.subject}>
                    <th scope="row">
                      <a href={hrefs.subject(latest.subject)}>{latest.subject}</a>
                    </th>
                    <td data-field="latest-version">{latest.version}</td>
                    <td data-field="schema-id">{latest.id}</td>
                  </tr>
                ))}
              </DataTable>
            )}
          </section>
          <LevelPanel
            title="Global compatibility level"
            note="Every subject without a level of its own checks new versions at this level."
            current={loaded.value.level}
            save={(level) => registry.setGlobalLevel(level)}
            onSaved={reload}
          />
          <RegisterPanel initial="" onRegistered={reload} />
        </>
      )}
    </>
  );
}

export function SubjectPage({ subject }: { subject: string }) {
  const [loaded, reload] = useLoad(async () => {
    const numbers = await registry.versions(subject);
    const [versions, own, global] = await Promise.all([
      Promise.all(numbers.map((version) => registry.version(subject, version))),
      registry.subjectLevel(subject),
      registry.globalLevel(),
    ]);
    return { versions, own, global };
  }, [subject]);
  if (loaded.state === 'loading') return <Loading what={`subject ${subject}`} />;
  if (loaded.state === 'failed') {
    if (isRegistryError(loaded.error, 'SUBJECT_NOT_FOUND')) {
      return (
        <Missing name={subject}>
          The registry has no subject named <code>{subject}</code>. Register its first schema on the{' '}
          <a href={hrefs.schemas}>schemas page</a>.
        </Missing>
      );
    }
    return <Failure error={loaded.error} what={`subject ${subject}`} />;
  }
  const { versions, own, global } = loaded.value;
  const latest = versions.at(-1);
  return (
    <>
      <h1>
        Subject <code>{subject}</code>
      </h1>
      <p>
        <a href={hrefs.schemas}>All subjects</a>
      </p>
      <VersionsPanel key={versions.length} versions={versions} />
      {versions.length > 1 && <DiffPanel key={versions.length} versions={versions} />}
      <LevelPanel
        title="Compatibility level"
        note={
          own === undefined
            ? `This subject has no level of its own: it follows the global level, ${global}.`
            : `This subject's own level (the global level is ${global}).`
        }
        current={own ?? global}
        save={(level) => registry.setSubjectLevel(subject, level)}
        clear={own === undefined ? undefined : () => registry.clearSubjectLevel(subject)}
        onSaved={reload}
      />
      <RegisterPanel
        subject={subject}
        initial={latest === undefined ? '' : prettySchema(latest.schema)}
        onRegistered={reload}
      />
    </>
  );
}

function VersionsPanel({ versions }: { versions: SubjectVersion[] }) {
  const [shown, setShown] = useState(String(versions.at(-1)?.version ?? ''));
  const version = versions.find((v) => String(v.version) === shown);
  return (
    <section class="panel" aria-labelledby="versions-title">
      <h2 id="versions-title">Versions</h2>
      <DataTable headings={['Version', 'Schema id']}>
        {versions.map((v) => (
          <tr key={v.version} data-version={v.version}>
            <th scope="row">{v.version}</th>
            <td data-field="schema-id">{v.id}</td>
          </tr>
        ))}
      </DataTable>
      <SelectField name="show-version" label="Show the schema of version" value={shown} onValue={setShown}>
        {versionOptions(versions)}
      </SelectField>
      {version !== undefined && (
        <pre class="value schema" data-field="schema">
          {prettySchema(version.schema)}
        </pre>
      )}
    </section>
  );
}

const versionOptions = (versions: SubjectVersion[]) =>
  versions.map((v) => (
    <option key={v.version} value={String(v.version)}>
      {v.version} (id {v.id})
    </option>
  ));

function DiffPanel({ versions }: { versions: SubjectVersion[] }) {
  const [from, setFrom] = useState(String(versions.at(-2)?.version));
  const [to, setTo] = useState(String(versions.at(-1)?.version));
  const before = versions.find((v) => String(v.version) === from);
  const after = versions.find((v) => String(v.version) === to);
  const diff =
    before === undefined || after === undefined
      ? undefined
      : lineDiff(prettySchema(before.schema), prettySchema(after.schema));
  const changes = diff?.lines.filter((line) => line.op !== 'same').length ?? 0;
  return (
    <section class="panel" aria-labelledby="diff-title">
      <h2 id="diff-title">Compare versions</h2>
      <div class="grid-form">
        <SelectField name="diff-from" label="From version" value={from} onValue={setFrom}>
          {versionOptions(versions)}
        </SelectField>
        <SelectField name="diff-to" label="To version" value={to} onValue={setTo}>
          {versionOptions(versions)}
        </SelectField>
      </div>
      {diff !== undefined && (
        <>
          <p class="muted" aria-live="polite">
            {changes === 0
              ? `Versions ${from} and ${to} have the same schema.`
              : `Version ${from} → ${to}: lines marked − are only in ${from}, + only in ${to}.`}
            {diff.approximate &&
              ' The change is too large to match line by line: all of it is shown removed, then added.'}
          </p>
          <pre class="value diff" data-field="diff">
            {foldUnchanged(diff.lines).map((line, i) => (
              <span key={i} class={`diff-${line.op}`} data-op={line.op}>
                {line.op === 'folded'
                  ? `  ⋯ ${line.count} unchanged line${line.count === 1 ? '' : 's'}`
                  : `${line.op === 'same' ? ' ' : line.op === 'removed' ? '−' : '+'} ${line.text}`}
                {'\n'}
              </span>
            ))}
          </pre>
        </>
      )}
    </section>
  );
}

function LevelPanel({
  title,
  note,
  current,
  save,
  clear,
  onSaved,
}: {
  title: string;
  note: string;
  current: CompatibilityLevel;
  save: (level: CompatibilityLevel) => Promise<unknown>;
  clear?: () => Promise<unknown>;
  onSaved: () => void;
}) {
  const [level, setLevel] = useState<string>(current);
  const { busy, outcome, run } = useAction();
  const id = title.toLowerCase().replace(/\W+/g, '-');
  return (
    <section class="panel" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      <p>
        <strong data-field="level">{current}</strong> — {note}
      </p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void run(async () => {
            await save(level as CompatibilityLevel);
            onSaved();
            return `The level is now ${level}.`;
          });
        }}
      >
        <SelectField name={`${id}-select`} label="Level" value={level} onValue={setLevel}>
          {levelOptions}
        </SelectField>
        <button type="submit" aria-busy={busy} disabled={busy}>
          Save level
        </button>{' '}
        {clear !== undefined && (
          <button
            type="button"
            class="secondary outline"
            disabled={busy}
            onClick={() =>
              void run(async () => {
                await clear();
                onSaved();
                return 'The subject follows the global level again.';
              })
            }
          >
            Use the global level
          </button>
        )}
      </form>
      <OutcomeNotice outcome={outcome} />
    </section>
  );
}

/** The registry's answer to "may this schema be registered?", for the subject and text it was asked about. */
interface Checked {
  subject: string;
  schema: string;
  result: CompatibilityResult;
}

function RegisterPanel({
  subject: fixedSubject,
  initial,
  onRegistered,
}: {
  subject?: string;
  initial: string;
  onRegistered: () => void;
}) {
  const [subject, setSubject] = useState(fixedSubject ?? '');
  const [schema, setSchema] = useState(initial);
  const [checked, setChecked] = useState<Checked | undefined>();
  const [checkError, setCheckError] = useState<string | undefined>();
  const [checking, setChecking] = useState(false);
  const registering = useAction();
  // A result holds only for the text it was given: an edit asks for a new check.
  const current = checked !== undefined && checked.subject === subject && checked.schema === schema;
  const canRegister = current && checked.result.is_compatible && !registering.busy;

  const check = async (event: Event) => {
    event.preventDefault();
    setCheckError(undefined);
    setChecked(undefined);
    setChecking(true);
    try {
      setChecked({ subject, schema, result: await registry.check(subject, schema) });
    } catch (error) {
      setCheckError(describeFailure(error));
    } finally {
      setChecking(false);
    }
  };

  const register = () =>
    void registering.run(async () => {
      const { id } = await registry.register(subject, schema);
      const found = await registry.lookup(subject, schema);
      onRegistered();
      return `Registered: version ${found.version} of ${subject} holds this schema (schema id ${id}).`;
    });

  return (
    <section class="panel" aria-labelledby="register-title">
      <h2 id="register-title">Register a new version</h2>
      <p class="muted">
        Check the schema first: the registry says whether the subject's compatibility level lets it in, and
        Register is enabled once it does.
      </p>
      <form onSubmit={check}>
        {fixedSubject === undefined && (
          <InputField
            name="subject"
            label="Subject"
            placeholder="orders-value"
            required
            value={subject}
            onValue={setSubject}
          />
        )}
        <TextAreaField
          name="schema"
          label="Avro schema (JSON)"
          rows={10}
          value={schema}
          onValue={setSchema}
        />
        <button
          type="submit"
          class="secondary"
          aria-busy={checking}
          disabled={checking || schema.trim() === ''}
        >
          Check compatibility
        </button>{' '}
        <button type="button" disabled={!canRegister} aria-busy={registering.busy} onClick={register}>
          Register
        </button>
      </form>
      {checkError !== undefined && (
        <p role="alert" class="notice-error" data-field="check-result">
          The registry could not check it. {checkError}
        </p>
      )}
      {current && checked.result.is_compatible && (
        <p role="status" class="notice-ok" data-field="check-result">
          Compatible: this schema can be registered under {checked.subject}.
        </p>
      )}
      {current && !checked.result.is_compatible && (
        <div role="alert" class="notice-error" data-field="check-result">
          <p>
            Not compatible: {checked.subject}'s compatibility level refuses this schema. Change the schema and
            check again, or change the level.
          </p>
          <ul>
            {(checked.result.messages ?? []).map((message) => (
              <li key={message}>{message}</li>
            ))}
          </ul>
        </div>
      )}
      <OutcomeNotice outcome={registering.outcome} />
    </section>
  );
}
