/** A clock and timers that move only when a test says so: every timer due on the way fires, in order. */
import type { Timers } from '../../lambdas/kafka/coordinator.ts';
import type { Clock } from '../../lambdas/ports/clock.ts';

interface Timer {
  at: number;
  seq: number;
  run: () => void;
}

/** Lets promise chains and setImmediate work started by a timer run to their next wait. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

export class FakeTime implements Clock {
  private current = 1_700_000_000_000;
  private readonly pending = new Set<Timer>();
  private seq = 0;

  readonly timers: Timers = {
    set: (ms, run) => {
      const timer = { at: this.current + Math.max(0, ms), seq: this.seq++, run };
      this.pending.add(timer);
      return timer;
    },
    clear: (handle) => {
      this.pending.delete(handle as Timer);
    },
  };

  now(): number {
    return this.current;
  }

  /** A retry's back-off: time jumps at once (no timer fires), as ManualClock does. */
  async sleep(ms: number): Promise<void> {
    this.current += Math.max(0, Math.ceil(ms));
    await new Promise((resolve) => setImmediate(resolve));
  }

  /** Moves time forward by `ms`, firing each timer due on the way at its own time. */
  async tick(ms: number): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      const due = [...this.pending]
        .filter((t) => t.at <= target)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (due === undefined) break;
      this.pending.delete(due);
      this.current = Math.max(this.current, due.at);
      due.run();
      await settle();
    }
    this.current = target;
    await settle();
  }
}

/** Timers that never fire: a gateway that stopped without closing. */
export const frozenTimers: Timers = { set: () => undefined, clear: () => undefined };
