/** Time as the core sees it. Core code never calls Date.now(): tests inject a clock they control. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Resolves after `ms` milliseconds of this clock's time. */
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
};

/** A clock that moves only when told to; for tests and deterministic simulations. */
export class ManualClock implements Clock {
  constructor(private current = 1_700_000_000_000) {}
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
  set(ms: number): void {
    this.current = ms;
  }
  /** Time jumps forward at once; the caller resumes on the next turn of the event loop. */
  async sleep(ms: number): Promise<void> {
    // Whole milliseconds, as a real clock reads: jittered sleeps must not make timestamps fractional.
    this.current += Math.max(0, Math.ceil(ms));
    await new Promise((resolve) => setImmediate(resolve));
  }
}
