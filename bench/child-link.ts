/**
 * The bench's own processes (bench/server.ts, bench/client-process.ts), forked from the bench process and
 * spoken to over the IPC channel: the child announces itself with a `ready` message, may send
 * `progress` lines, and answers each call with a `reply` carrying the call's id. Both sides are here.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export type ChildMessage<Ready> =
  | ({ kind: 'ready' } & Ready)
  | { kind: 'progress'; message: string }
  | { kind: 'reply'; id: number; result?: unknown; error?: string };

export interface ChildLink<Ready, Call> {
  ready: Promise<Ready>;
  /** The child's process id (undefined if it could not be spawned). */
  pid: number | undefined;
  /** Fails with the child's error, or when the child dies or its channel closes before answering. */
  call(call: Call): Promise<unknown>;
  /**
   * Closes the channel (the child stops itself then; a child that has dropped its channel is killed)
   * and waits for the child to exit. Calling it again waits for the same close.
   */
  close(): Promise<void>;
}

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * Forks `script` (TypeScript, run through tsx whatever runs this process: tsx, vitest) with `args`;
 * `name` is how errors name it.
 */
export function forkChild<Ready, Call>(
  script: string,
  args: string[],
  options: { name: string; startTimeoutMs: number; progress?: (message: string) => void },
): ChildLink<Ready, Call> {
  const child = fork(script, args, {
    cwd: REPO_ROOT,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const link = childLink<Ready, Call>(child, options);
  // A child that never gets ready is not left behind.
  link.ready.catch(() => child.kill('SIGKILL'));
  return link;
}

function childLink<Ready, Call>(
  child: ChildProcess,
  {
    name,
    startTimeoutMs,
    progress,
  }: { name: string; startTimeoutMs: number; progress?: (message: string) => void },
): ChildLink<Ready, Call> {
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  let onReady: ((value: Ready) => void) | undefined;
  let onFailure: ((error: Error) => void) | undefined;
  const ready = new Promise<Ready>((resolve, reject) => {
    onReady = resolve;
    onFailure = reject;
  });
  const timer = setTimeout(
    () => onFailure?.(new Error(`the ${name} did not start within ${startTimeoutMs} ms`)),
    startTimeoutMs,
  );
  child.on('message', (raw) => {
    const message = raw as ChildMessage<Ready>;
    if (message.kind === 'ready') {
      clearTimeout(timer);
      const { kind: _, ...rest } = message;
      onReady?.(rest as Ready);
    } else if (message.kind === 'progress') {
      progress?.(message.message);
    } else {
      const waiter = pending.get(message.id);
      pending.delete(message.id);
      if (message.error !== undefined) waiter?.reject(new Error(`${name}: ${message.error}`));
      else waiter?.resolve(message.result);
    }
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const failPending = (error: Error) => {
    for (const waiter of pending.values()) waiter.reject(error);
    pending.clear();
  };
  // A failed send (the channel closed under us) fails the calls waiting on it, not the whole process.
  child.on('error', failPending);
  // No reply can come once the channel is closed, whoever closed it, even if the child lives on.
  child.once('disconnect', () => failPending(new Error(`the channel to the ${name} closed`)));
  child.once('exit', (code, signal) => {
    clearTimeout(timer);
    const error = new Error(`the ${name} exited (code ${code}, signal ${signal})`);
    onFailure?.(error);
    failPending(error);
  });
  let closing: Promise<void> | undefined;
  return {
    ready,
    pid: child.pid,
    call(call) {
      const id = nextId++;
      if (!child.connected) return Promise.reject(new Error(`the ${name} is gone`));
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        child.send({ id, call }, (error) => {
          if (error === null) return;
          pending.delete(id);
          reject(error);
        });
      });
    },
    close() {
      // Once: a second close waits for the first, which lets the child stop itself.
      closing ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        if (child.connected)
          child.disconnect(); // the child closes itself when its channel closes
        else child.kill('SIGKILL');
        const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(killer);
      })();
      return closing;
    },
  };
}

/** The child's side: answers each call with `answer`'s result, or its error's stack. */
export function answerCalls<Call>(answer: (call: Call) => Promise<unknown>): void {
  process.on('message', (raw) => {
    const { id, call } = raw as { id: number; call: Call };
    answer(call).then(
      (result) => sendToParent({ kind: 'reply', id, result }),
      (error: unknown) =>
        sendToParent({
          kind: 'reply',
          id,
          error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        }),
    );
  });
}

export function sendToParent<Ready>(message: ChildMessage<Ready>): void {
  process.send?.(message);
}
