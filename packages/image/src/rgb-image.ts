import { InvalidArgumentError, ShapeError } from '@vasink/tensor';

/**
 * An 8-bit RGB image: `data` holds `height` rows of `width` pixels, each pixel
 * three bytes R, G, B (interleaved, row-major, no padding), so
 * `data.length === width * height * 3`.
 */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** An RGB colour, each channel an integer in 0..255. */
export type RgbColour = readonly [number, number, number];

/** Create an RGB image; `data` is kept (not copied) when given, zeros otherwise. */
export function createRgbImage(width: number, height: number, data?: Uint8Array): RgbImage {
  assertImageSize('image', width, height);
  const length = width * height * 3;
  const storage = data ?? new Uint8Array(length);
  if (storage.length !== length) {
    throw new ShapeError(`a ${width}x${height} RGB image needs ${length} bytes, got ${storage.length}`, {
      width,
      height,
      length: storage.length,
    });
  }
  return { width, height, data: storage };
}

/** Check that an image's size and buffer agree, with a message naming it. */
export function assertRgbImage(name: string, image: RgbImage): void {
  assertImageSize(name, image.width, image.height);
  const length = image.width * image.height * 3;
  if (!(image.data instanceof Uint8Array) || image.data.length !== length) {
    throw new ShapeError(`${name}: a ${image.width}x${image.height} RGB image needs a Uint8Array of ${length} bytes`, {
      name,
      width: image.width,
      height: image.height,
      length: image.data?.length,
    });
  }
}

/** Check a width and height are positive integers. */
export function assertImageSize(name: string, width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new InvalidArgumentError(`${name}: width and height must be positive integers, got ${width}x${height}`, {
      name,
      width,
      height,
    });
  }
}

/** Check a colour is three integers in 0..255. */
export function assertRgbColour(name: string, colour: RgbColour): void {
  if (colour.length !== 3 || !colour.every((c) => Number.isInteger(c) && c >= 0 && c <= 255)) {
    throw new InvalidArgumentError(`${name} must be three integers in 0..255, got [${colour.join(', ')}]`, {
      name,
      colour: [...colour],
    });
  }
}
