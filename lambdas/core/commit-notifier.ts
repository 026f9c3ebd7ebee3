/**
 * Wakes long polls when a partition's high watermark moves. In one process (the local server) a commit
 * notifies waiters at once; across processes (Lambda) nothing is shared, and waiters fall back on
 * re-reading the partition item at an interval of the clock's time.
 */
export interface CommitNotifier {
  notify(partitionPk: string): void;
  /** A promise that resolves on the next notify of this partition; cancel() releases it. */
  next(partitionPk: string): { promise: Promise<void>; cancel(): void };
  /** Calls `listener` on every notify, of any partition, until the returned function is called. */
  onCommit(listener: (partitionPk: string) => void): () => void;
}

export function createCommitNotifier(): CommitNotifier {
  const waiters = new Map<string, Set<() => void>>();
  const listeners = new Set<(partitionPk: string) => void>();
  return {
    notify(pk) {
      for (const listener of listeners) listener(pk);
      const set = waiters.get(pk);
      if (set === undefined) return;
      waiters.delete(pk);
      for (const wake of set) wake();
    },
    onCommit(listener) {
      // A wrapper per registration, so one listener registered twice is removed once per call.
      const registered = (pk: string) => listener(pk);
      listeners.add(registered);
      return () => listeners.delete(registered);
    },
    next(pk) {
      let set = waiters.get(pk);
      if (set === undefined) {
        set = new Set();
        waiters.set(pk, set);
      }
      const owner = set;
      let wake = () => {};
      const promise = new Promise<void>((resolve) => {
        wake = resolve;
      });
      owner.add(wake);
      return {
        promise,
        cancel: () => {
          owner.delete(wake);
          if (owner.size === 0 && waiters.get(pk) === owner) waiters.delete(pk);
        },
      };
    },
  };
}
