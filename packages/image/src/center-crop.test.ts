import { describe, expect, it } from 'vitest';
import { centerCrop } from './center-crop.js';
import { createRgbImage } from './rgb-image.js';

/** A w x h image whose red channel is x and green channel is y. */
function coordinates(width: number, height: number) {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set([x, y, 1], (y * width + x) * 3);
  return createRgbImage(width, height, data);
}

describe('centerCrop', () => {
  it('starts the window at (orig - crop) // 2', () => {
    const out = centerCrop(coordinates(7, 6), 4, 3);
    expect([out.width, out.height]).toEqual([4, 3]);
    // left = (7 - 4) // 2 = 1, top = (6 - 3) // 2 = 1.
    expect([...out.data.subarray(0, 3)]).toEqual([1, 1, 1]);
    expect([...out.data.subarray(out.data.length - 3)]).toEqual([4, 3, 1]);
  });

  it('pads with zeros, image centred, when the crop is larger (HF: top_pad = ceil(diff / 2))', () => {
    const out = centerCrop(coordinates(2, 3), 5, 4);
    // left = (2 - 5) // 2 = -2 → columns 2..3 hold the image; top = (3 - 4) // 2 = -1 → rows 1..3.
    const at = (x: number, y: number) => [...out.data.subarray((y * 5 + x) * 3, (y * 5 + x) * 3 + 3)];
    expect(at(1, 1)).toEqual([0, 0, 0]);
    expect(at(2, 1)).toEqual([0, 0, 1]);
    expect(at(3, 3)).toEqual([1, 2, 1]);
    expect(at(4, 3)).toEqual([0, 0, 0]);
    expect(at(2, 0)).toEqual([0, 0, 0]);
  });

  it('mixes cropping and padding per axis', () => {
    const out = centerCrop(coordinates(9, 2), 3, 4);
    const at = (x: number, y: number) => [...out.data.subarray((y * 3 + x) * 3, (y * 3 + x) * 3 + 3)];
    // left = 3; top = (2 - 4) // 2 = -1.
    expect(at(0, 0)).toEqual([0, 0, 0]);
    expect(at(0, 1)).toEqual([3, 0, 1]);
    expect(at(2, 2)).toEqual([5, 1, 1]);
    expect(at(2, 3)).toEqual([0, 0, 0]);
  });
});
