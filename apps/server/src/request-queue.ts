import { ApiError } from './api-error.js';

/** Gives the slot back; calling it twice is harmless. */
export type ReleaseSlot = () => void;

interface Waiter {
  grant: (release: ReleaseSlot) => void;
}

/**
 * A bounded FIFO in front of the model: at most `concurrency` holders at once
 * and at most `maxQueue` waiters; a request that finds both full is refused
 * (429) at once instead of growing memory.
 */
export class RequestQueue {
  private running = 0;
  private readonly waiters: Waiter[] = [];
  private idleWaiters: (() => void)[] = [];

  constructor(
    private slots: number,
    readonly maxQueue: number,
    private readonly onChange: () => void = () => {},
  ) {}

  /** Holders at once. */
  get concurrency(): number {
    return this.slots;
  }

  /** Change the number of slots (the server fits it to memory once the model is loaded); waiters get new slots at once. */
  resize(slots: number): void {
    if (!(Number.isInteger(slots) && slots >= 1)) throw new Error(`a queue needs at least one slot, got ${slots}`);
    this.slots = slots;
    while (this.running < this.slots && this.waiters.length > 0) {
      this.running++;
      this.waiters.shift()!.grant(this.releaser());
    }
    this.onChange();
  }

  /** Slots in use. */
  get active(): number {
    return this.running;
  }

  /** Requests waiting for a slot. */
  get depth(): number {
    return this.waiters.length;
  }

  /** True when a new request would be refused. */
  get full(): boolean {
    return this.running >= this.concurrency && this.waiters.length >= this.maxQueue;
  }

  /**
   * Wait for a slot. Rejects at once with a 429 ApiError when the queue is
   * full, and with `signal.reason` when the signal aborts while waiting (the
   * waiter leaves the queue).
   */
  acquire(signal?: AbortSignal): Promise<ReleaseSlot> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.running < this.concurrency) {
      this.running++;
      this.onChange();
      return Promise.resolve(this.releaser());
    }
    if (this.waiters.length >= this.maxQueue) {
      return Promise.reject(queueFullError(this.concurrency, this.maxQueue));
    }
    return new Promise<ReleaseSlot>((resolve, reject) => {
      const onAbort = () => {
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
        this.onChange();
        this.notifyIdle();
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        grant: (release) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(release);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
      this.onChange();
    });
  }

  /** Resolves once nothing runs and nothing waits. */
  whenIdle(): Promise<void> {
    if (this.running === 0 && this.waiters.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private releaser(): ReleaseSlot {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (next) {
        // The slot passes straight to the next waiter: `running` is unchanged.
        next.grant(this.releaser());
      } else {
        this.running--;
      }
      this.onChange();
      this.notifyIdle();
    };
  }

  private notifyIdle(): void {
    if (this.running > 0 || this.waiters.length > 0) return;
    const waiting = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiting) resolve();
  }
}

/** The 429 of a full queue; `Retry-After` is a hint, not a promise. */
export function queueFullError(concurrency: number, maxQueue: number): ApiError {
  return new ApiError(
    429,
    'queue_full',
    `the server is at capacity (${concurrency} running, ${maxQueue} waiting); retry later`,
    { headers: { 'retry-after': '1' } },
  );
}
