import { describe, expect, it } from 'vitest';
import { resizeShortestEdge, shortestEdgeSize } from './resize-shortest-edge.js';
import { createRgbImage } from './rgb-image.js';

describe('shortestEdgeSize', () => {
  it('matches get_resize_output_image_size(default_to_square=False): long = int(size * long / short)', () => {
    expect(shortestEdgeSize(640, 480, 336)).toEqual({ width: 448, height: 336 });
    expect(shortestEdgeSize(7, 300, 336)).toEqual({ width: 336, height: 14400 });
    // 336 * 1000 / 333 = 1009.009… → 1009; a square stays square.
    expect(shortestEdgeSize(1000, 333, 336)).toEqual({ width: 1009, height: 336 });
    expect(shortestEdgeSize(50, 50, 336)).toEqual({ width: 336, height: 336 });
    expect(() => shortestEdgeSize(5, 5, 0)).toThrow(/size must be a positive integer/);
  });

  it('resizes to that size', () => {
    const out = resizeShortestEdge(createRgbImage(8, 4), 6);
    expect([out.width, out.height]).toEqual([12, 6]);
  });
});
