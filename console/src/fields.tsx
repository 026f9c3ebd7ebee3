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
