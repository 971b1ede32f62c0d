import { describe, expect, it } from 'vitest';
import { decodeImage } from './decode-image.js';
import { encodePng } from './encode-png.js';
import { createRgbImage } from './rgb-image.js';

describe('encodePng', () => {
  it('round-trips through decodeImage losslessly', async () => {
    const data = new Uint8Array(5 * 3 * 3).map((_, i) => (i * 37) % 256);
    const png = await encodePng(createRgbImage(5, 3, data));
    expect([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join('')).toBe('PNG');
    const back = await decodeImage(png);
    expect([back.width, back.height]).toEqual([5, 3]);
    expect(back.data).toEqual(data);
  });
});
