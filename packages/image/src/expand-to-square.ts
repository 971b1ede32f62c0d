import { type RgbColour, type RgbImage, assertRgbColour, assertRgbImage, createRgbImage } from './rgb-image.js';

/**
 * LLaVA-1.5's padding colour: the CLIP mean times 255, truncated
 * (`tuple(int(x * 255) for x in image_processor.image_mean)`).
 */
export const LLAVA_PAD_COLOUR: RgbColour = [122, 116, 104];

/**
 * LLaVA's `expand2square`: paste the image centred on a `max(w, h)` square
 * filled with `background`, at offset `(max − w) // 2` or `(max − h) // 2`
 * (the extra pixel of an odd margin goes after the image). A square image is
 * returned as is.
 */
export function expandToSquare(image: RgbImage, background: RgbColour = LLAVA_PAD_COLOUR): RgbImage {
  assertRgbImage('image', image);
  assertRgbColour('background', background);
  const { width, height } = image;
  if (width === height) return image;
  const side = Math.max(width, height);
  const left = Math.floor((side - width) / 2);
  const top = Math.floor((side - height) / 2);
  const out = new Uint8Array(side * side * 3);
  for (let p = 0; p < out.length; p += 3) {
    out[p] = background[0];
    out[p + 1] = background[1];
    out[p + 2] = background[2];
  }
  for (let y = 0; y < height; y++) {
    out.set(image.data.subarray(y * width * 3, (y + 1) * width * 3), ((y + top) * side + left) * 3);
  }
  return createRgbImage(side, side, out);
}
