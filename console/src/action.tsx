/**
 * An action that changes something (reset offsets, delete a group, pause a subscription): its button,
 * an optional confirmation step saying what will happen, and its outcome, the API's refusal with what
 * to do about it included.
 */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { describeFailure } from './api.ts';

type Outcome = { ok: boolean; text: string };

export function useAction(explain?: (error: unknown) => string | undefined) {
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | undefined>();
  const run = async (action: () => Promise<string>) => {
    setOutcome(undefined);
    setBusy(true);
    try {
      setOutcome({ ok: true, text: await action() });
    } catch (error) {
      const text = describeFailure(error);
      const advice = explain?.(error);
      const stop = /[.!?]$/.test(text) ? '' : '.';
      setOutcome({ ok: false, text: advice === undefined ? text : `${text}${stop} ${advice}` });
    } finally {
      setBusy(false);
    }
  };
  return { busy, outcome, run };
}

export function OutcomeNotice({ outcome }: { outcome: Outcome | undefined }) {
  if (outcome === undefined) return null;
  return (
    <p role={outcome.ok ? 'status' : 'alert'} class={outcome.ok ? 'notice-ok' : 'notice-error'}>
      {outcome.text}
    </p>
  );
}

/** A question and two buttons: the action, named as it is, and Cancel. */
export function Confirm({
  question,
  confirmLabel,
  busy,
  onConfirm,
  onCancel,
}: {
  question: ComponentChildren;
  confirmLabel: string;
  busy: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  return (
    <div class="confirm">
      <p>{question}</p>
      <button type="button" class="contrast" aria-busy={busy} disabled={busy} onClick={onConfirm}>
        {confirmLabel}
      </button>{' '}
      <button type="button" class="secondary outline" disabled={busy} onClick={onCancel}>
        Cancel
      </button>
    </div>
  );
}
