/** How the console says that something failed, and what to do about it. */
import type { ComponentChildren } from 'preact';
import { ApiError, describeFailure, signedByProxy } from './api.ts';

export function Failure({ error, what }: { error: unknown; what: string }) {
  // A 401 is answered by the token prompt above the page (never shown when a proxy signs the calls).
  if (error instanceof ApiError && error.status === 401 && !signedByProxy) {
    return <p class="muted">Waiting for a token to load {what}.</p>;
  }
  return (
    <div role="alert" class="notice-error">
      <p>
        <strong>Could not load {what}.</strong> {describeFailure(error)}
      </p>
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return <p aria-busy="true">Loading {what}…</p>;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', ' UTC');
}

/** A page for a name that does not exist: what was asked for, and where to go instead. */
export function Missing({ name, children }: { name: string; children: ComponentChildren }) {
  return (
    <>
      <h1>{name}</h1>
      <p role="alert" class="notice-error">
        {children}
      </p>
    </>
  );
}
