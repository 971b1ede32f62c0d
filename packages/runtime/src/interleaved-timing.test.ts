import { afterEach, describe, expect, it, vi } from 'vitest';
import { median, pairedRatio, rotatedOrder, timeInterleaved } from './interleaved-timing.js';

describe('timeInterleaved', () => {
  afterEach(() => vi.restoreAllMocks());

  it('runs every task once per round, order rotated per round, and times each call', async () => {
    // A fake clock that each task advances by its own cost.
    let clock = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => clock);
    const order: string[] = [];
    const task = (name: string, cost: number) => async () => {
      order.push(name);
      clock += cost;
    };
    const rounds: number[] = [];
    const ms = await timeInterleaved([task('a', 10), task('b', 25), task('c', 5)], { rounds: 4, onRound: (r) => rounds.push(r) });
    expect(order.join('')).toBe('abc' + 'bca' + 'cab' + 'abc');
    expect(ms).toEqual([
      [10, 10, 10, 10],
      [25, 25, 25, 25],
      [5, 5, 5, 5],
    ]);
    expect(rounds).toEqual([0, 1, 2, 3]);
  });

  it('continues a rotation across calls', async () => {
    const order: number[] = [];
    await timeInterleaved([async () => order.push(0), async () => order.push(1)], { rounds: 2, rotation: 1 });
    expect(order).toEqual([1, 0, 0, 1]);
  });

  it('refuses a bad round count or settle time', async () => {
    await expect(timeInterleaved([], { rounds: -1 })).rejects.toThrow(/rounds/);
    await expect(timeInterleaved([], { rounds: 1, settleMs: Number.NaN })).rejects.toThrow(/settleMs/);
  });
});

describe('medians and paired ratios', () => {
  it('median of odd and even counts, order-free', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow(/empty/);
  });

  it('rotatedOrder wraps any shift', () => {
    expect(rotatedOrder(3, 1)).toEqual([1, 2, 0]);
    expect(rotatedOrder(3, 5)).toEqual([2, 0, 1]);
    expect(rotatedOrder(2, -1)).toEqual([1, 0]);
  });

  it('pairedRatio is the median of per-pair ratios, not the ratio of medians', () => {
    // Drift: both variants slow down together; b is always 2× a.
    const a = [10, 20, 40, 80, 160];
    const b = a.map((x) => 2 * x);
    expect(pairedRatio(b, a)).toBe(2);
    // One outlier pair does not move it.
    expect(pairedRatio([20, 40, 80, 1000, 320], [10, 20, 40, 80, 160])).toBe(2);
    expect(() => pairedRatio([1], [1, 2])).toThrow(/differ in length/);
  });
});
