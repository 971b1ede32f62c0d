import { type RgbImage, assertImageSize, assertRgbImage, createRgbImage } from './rgb-image.js';

/**
 * transformers' `center_crop` to `width` × `height` pixels: the window starts at
 * `(orig − crop) // 2` (floor) on each axis. Where the image is smaller than
 * the crop, it is centred on a zero (black) background instead, as there.
 */
export function centerCrop(image: RgbImage, width: number, height: number): RgbImage {
  assertRgbImage('image', image);
  assertImageSize('crop', width, height);
  const left = Math.floor((image.width - width) / 2);
  const top = Math.floor((image.height - height) / 2);
  const out = new Uint8Array(width * height * 3);
  // Output column x reads source column x + left when that is inside the image.
  const x0 = Math.max(0, -left);
  const x1 = Math.min(width, image.width - left);
  for (let y = 0; y < height; y++) {
    const sy = y + top;
    if (sy < 0 || sy >= image.height || x1 <= x0) continue;
    const from = (sy * image.width + x0 + left) * 3;
    out.set(image.data.subarray(from, from + (x1 - x0) * 3), (y * width + x0) * 3);
  }
  return createRgbImage(width, height, out);
}
