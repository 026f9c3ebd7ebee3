/** Form fields whose label names the control alone (`for`/`id`), as screen readers and tests read it. */
import { type ComponentChildren, createElement } from 'preact';

/** The input attributes the console's forms use. */
interface InputProps {
  type?: 'text' | 'number' | 'datetime-local';
  min?: number;
  max?: number;
  step?: number | 'any';
  maxLength?: number;
  pattern?: string;
  placeholder?: string;
  required?: boolean;
  autocomplete?: string;
}

export function InputField({
  name,
  label,
  value,
  onValue,
  help,
  ...input
}: InputProps & {
  name: string;
  label: ComponentChildren;
  value: string;
  onValue: (value: string) => void;
  help?: ComponentChildren;
}) {
  const id = `field-${name}`;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {/* createElement: Preact types <input> per `type`, which a type given as a prop cannot meet. */}
      {createElement('input', {
        ...input,
        id,
        name,
        value,
        'aria-describedby': help === undefined ? undefined : `${id}-help`,
        onInput: (event: Event) => onValue((event.currentTarget as HTMLInputElement).value),
      })}
      {help !== undefined && <small id={`${id}-help`}>{help}</small>}
    </div>
  );
}

export function TextAreaField({
  name,
  label,
  value,
  onValue,
  rows,
}: {
  name: string;
  label: ComponentChildren;
  value: string;
  onValue: (value: string) => void;
  rows: number;
}) {
  const id = `field-${name}`;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <textarea
        id={id}
        name={name}
        rows={rows}
        value={value}
        onInput={(e) => onValue(e.currentTarget.value)}
      />
    </div>
  );
}

/** One option per partition of a topic, `0` to `partitions − 1`. */
export function partitionOptions(partitions: number) {
  return Array.from({ length: partitions }, (_, i) => (
    <option key={i} value={String(i)}>
      {i}
    </option>
  ));
}

export function SelectField({
  name,
  label,
  value,
  onValue,
  children,
}: {
  name: string;
  label: ComponentChildren;
  value: string;
  onValue: (value: string) => void;
  children: ComponentChildren;
}) {
  const id = `field-${name}`;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select id={id} name={name} value={value} onChange={(e) => onValue(e.currentTarget.value)}>
        {children}
      </select>
    </div>
  );
}

/** An offset to start at: a whole number from 0. */
export function OffsetField({
  name,
  value,
  onValue,
}: {
  name: string;
  value: string;
  onValue: (value: string) => void;
}) {
  return (
    <InputField name={name} label="Offset" type="number" min={0} required value={value} onValue={onValue} />
  );
}

/** A time to start at, to the second, in the browser's time zone (see `localDateTime`). */
export function TimeField({
  name,
  value,
  onValue,
  help,
}: {
  name: string;
  value: string;
  onValue: (value: string) => void;
  help?: ComponentChildren;
}) {
  return (
    <InputField
      name={name}
      label="Time (your time zone)"
      type="datetime-local"
      step={1}
      required
      value={value}
      onValue={onValue}
      help={help}
    />
  );
}

/** A `datetime-local` value for a time: local wall-clock time, to the second. */
export function localDateTime(ms: number): string {
  const date = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return date.toISOString().slice(0, 19);
}
