import { describe, expect, it } from 'vitest';
import { ApiError } from './api-error.js';
import { RequestQueue } from './request-queue.js';

describe('RequestQueue', () => {
  it('resizes: fewer slots hold new requests back, more slots grant waiters at once', async () => {
    const queue = new RequestQueue(1, 4);
    const first = await queue.acquire();
    const waiting = [queue.acquire(), queue.acquire()];
    expect(queue.depth).toBe(2);
    queue.resize(3);
    expect(queue.concurrency).toBe(3);
    const granted = await Promise.all(waiting);
    expect(queue.active).toBe(3);
    queue.resize(1);
    first();
    granted[0]!();
    expect(queue.active).toBe(1);
    const next = queue.acquire();
    expect(queue.depth).toBe(1);
    granted[1]!();
    (await next)();
    expect(queue.active).toBe(0);
    expect(() => queue.resize(0)).toThrow('at least one slot');
  });

  it('runs up to `concurrency`, queues up to `maxQueue` in order, refuses beyond with 429', async () => {
    const queue = new RequestQueue(2, 1);
    const a = await queue.acquire();
    await queue.acquire();
    expect(queue.active).toBe(2);
    const order: string[] = [];
    const waiting = queue.acquire().then((release) => {
      order.push('third');
      return release;
    });
    expect(queue.depth).toBe(1);
    expect(queue.full).toBe(true);
    const refused = await queue.acquire().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused).toMatchObject({ status: 429, code: 'queue_full', headers: { 'retry-after': '1' } });
    a();
    a(); // releasing twice frees one slot only
    const third = await waiting;
    expect(order).toEqual(['third']);
    expect(queue.active).toBe(2);
    expect(queue.depth).toBe(0);
    third();
    expect(queue.active).toBe(1);
  });

  it('drops a waiter whose signal aborts, rejecting with the reason', async () => {
    const queue = new RequestQueue(1, 4);
    const release = await queue.acquire();
    const controller = new AbortController();
    const waiting = queue.acquire(controller.signal);
    expect(queue.depth).toBe(1);
    controller.abort(new Error('gone'));
    await expect(waiting).rejects.toThrow('gone');
    expect(queue.depth).toBe(0);
    release();
    expect(queue.active).toBe(0);
  });

  it('resolves whenIdle once nothing runs or waits', async () => {
    const queue = new RequestQueue(1, 1);
    const release = await queue.acquire();
    const next = queue.acquire();
    let idle = false;
    const done = queue.whenIdle().then(() => (idle = true));
    release();
    await Promise.resolve();
    expect(idle).toBe(false);
    (await next)();
    await done;
    expect(idle).toBe(true);
  });
});
