import sharp from 'sharp';
import { type RgbImage, assertRgbImage } from './rgb-image.js';

/** Encode an RGB image as PNG bytes (lossless, via sharp). */
export async function encodePng(image: RgbImage): Promise<Uint8Array> {
  assertRgbImage('image', image);
  const buffer = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .png()
    .toBuffer();
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length);
}
