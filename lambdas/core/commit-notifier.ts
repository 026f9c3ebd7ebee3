/**
 * Wakes long polls when a partition's high watermark moves. In one process (the local server) a commit
 * notifies waiters at once; across processes (Lambda) nothing is shared, and waiters fall back on
 * re-reading the partition item at an interval of the clock's time.
 */
export interface CommitNotifier {
  notify(partitionPk: string): void;
  /** A promise that resolves on the next notify of this partition; cancel() releases it. */
  next(partitionPk: string): { promise: Promise<void>; cancel(): void };
}

export function createCommitNotifier(): CommitNotifier {
  const waiters = new Map<string, Set<() => void>>();
  return {
    notify(pk) {
      const set = waiters.get(pk);
      if (set === undefined) return;
      waiters.delete(pk);
      for (const wake of set) wake();
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
