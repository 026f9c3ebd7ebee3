/** Loading data for a page: its state (loading, loaded, failed) and a way to load it again. */
import { useCallback, useEffect, useState } from 'preact/hooks';

export type Loaded<T> =
  | { state: 'loading' }
  | { state: 'loaded'; value: T }
  | { state: 'failed'; error: unknown };

export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): [Loaded<T>, () => void] {
  const [loaded, setLoaded] = useState<Loaded<T>>({ state: 'loading' });
  const [round, setRound] = useState(0);
  // The effect runs again when the caller's dependencies change, or on reload.
  useEffect(() => {
    let current = true;
    load().then(
      (value) => current && setLoaded({ state: 'loaded', value }),
      (error: unknown) => current && setLoaded({ state: 'failed', error }),
    );
    return () => {
      current = false;
    };
  }, [...deps, round]);
  const reload = useCallback(() => setRound((n) => n + 1), []);
  return [loaded, reload];
}

/** Describes each name, a few at a time, in list order. */
export async function describeAll<T>(names: string[], describe: (name: string) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(names.length);
  let next = 0;
  const worker = async () => {
    while (next < names.length) {
      const index = next;
      next += 1;
      results[index] = await describe(names[index] as string);
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, names.length) }, worker));
  return results;
}
