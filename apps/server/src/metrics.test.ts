import { describe, expect, it } from 'vitest';
import { Counter, Histogram, TokenRate } from './metrics.js';

describe('Prometheus metrics', () => {
  it('renders counters with labels and escapes label values', () => {
    const counter = new Counter('x_total', 'Things.');
    counter.inc({ endpoint: '/a', status: '200' });
    counter.inc({ status: '200', endpoint: '/a' }, 2);
    counter.inc({ endpoint: 'say "hi"\n', status: '500' });
    expect(counter.render()).toEqual([
      '# HELP x_total Things.',
      '# TYPE x_total counter',
      'x_total{endpoint="/a",status="200"} 3',
      'x_total{endpoint="say \\"hi\\"\\n",status="500"} 1',
    ]);
  });

  it('renders cumulative histogram buckets, sum and count', () => {
    const histogram = new Histogram('h_seconds', 'Latency.', [0.1, 1]);
    histogram.observe(0.05);
    histogram.observe(0.5);
    histogram.observe(5);
    expect(histogram.render().slice(2)).toEqual([
      'h_seconds_bucket{le="0.1"} 1',
      'h_seconds_bucket{le="1"} 2',
      'h_seconds_bucket{le="+Inf"} 3',
      'h_seconds_sum 5.55',
      'h_seconds_count 3',
    ]);
  });

  it('computes tokens/s over a sliding window', () => {
    let now = 0;
    const rate = new TokenRate(10_000, () => now);
    now = 2000;
    rate.add(10);
    expect(rate.perSecond()).toBe(5); // 10 tokens in the first 2 s
    now = 11_000;
    rate.add(20);
    expect(rate.perSecond()).toBe(3); // 30 tokens in the last 10 s
    now = 15_000;
    expect(rate.perSecond()).toBe(2); // the first mark left the window
  });
});
