import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { InvalidArgumentError } from '@vasink/tensor';
import sharp from 'sharp';
import { ImageDecodeError } from './errors.js';
import { type RgbImage, createRgbImage } from './rgb-image.js';

/**
 * Pillow's decompression-bomb threshold: `Image.open` raises above
 * 2 × `Image.MAX_IMAGE_PIXELS` (2 × 89,478,485) pixels.
 */
export const DEFAULT_MAX_PIXELS = 178_956_970;

/** Container formats `decodeImage` accepts (sharp's names). */
export const DECODABLE_FORMATS: readonly string[] = ['jpeg', 'png', 'webp', 'gif', 'tiff'];

export interface DecodeImageOptions {
  /** Refuse images with more pixels than this (width × height). Default {@link DEFAULT_MAX_PIXELS}. */
  maxPixels?: number;
  /**
   * Apply the EXIF Orientation tag (default true), as `ImageOps.exif_transpose`
   * and transformers' `load_image` do. Plain `Image.open(f).convert('RGB')`, as
   * LLaVA's evaluation scripts use, ignores it: pass false to match those.
   */
  autoOrient?: boolean;
}

/**
 * Decode a JPEG, PNG, WebP, GIF (first frame) or TIFF image, from bytes or a
 * file path, to 8-bit RGB — the pixels Pillow's `Image.open(f).convert('RGB')`
 * gives:
 *
 * - alpha is dropped, not composited over any background (Pillow's RGBA → RGB
 *   copies R, G, B and ignores A; a fully transparent pixel keeps its colour);
 * - greyscale is replicated to the three channels; palettes are expanded;
 * - CMYK is converted with Pillow's formula `(255 − K) − C·(255 − K)/255`, not
 *   through ICC profiles; embedded ICC profiles are ignored, as Pillow does;
 * - 16-bit samples keep their high byte (Pillow does the same for 16-bit RGB;
 *   for 16-bit greyscale Pillow clips to 255 instead, which we do not copy).
 *
 * Throws {@link ImageDecodeError} for empty input, unknown or unsupported
 * formats, truncated or corrupt data, and images over `maxPixels`.
 */
export async function decodeImage(input: Uint8Array | string, options: DecodeImageOptions = {}): Promise<RgbImage> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (!Number.isInteger(maxPixels) || maxPixels < 1) {
    throw new InvalidArgumentError(`maxPixels must be a positive integer, got ${String(maxPixels)}`, { maxPixels });
  }
  const file = typeof input === 'string' ? input : undefined;
  const bytes = typeof input === 'string' ? await readImageFile(input) : input;
  if (bytes.length === 0) {
    throw new ImageDecodeError('IMAGE_EMPTY', 'image is 0 bytes', { file, details: { bytes: 0 } });
  }

  if (isTruncatedWebp(bytes)) {
    throw new ImageDecodeError('IMAGE_TRUNCATED', 'image data is truncated: the WebP file is shorter than its RIFF header says', {
      file,
      details: { format: 'webp', bytes: bytes.length },
    });
  }

  const sharpOptions: sharp.SharpOptions = {
    // Pillow raises on truncated and broken data but tolerates libjpeg warnings.
    failOn: 'error',
    limitInputPixels: maxPixels,
    ignoreIcc: true,
    autoOrient: options.autoOrient ?? true,
    pages: 1,
  };

  let metadata: sharp.Metadata;
  try {
    metadata = await sharp(bytes, { ...sharpOptions, autoOrient: false, limitInputPixels: false }).metadata();
  } catch (cause) {
    throw classifySharpError(cause, file, bytes.length);
  }
  const format = metadata.format;
  if (!DECODABLE_FORMATS.includes(format)) {
    const accepted = DECODABLE_FORMATS.join(', ');
    throw new ImageDecodeError('IMAGE_UNSUPPORTED_FORMAT', `${format} images are not supported (use ${accepted})`, {
      file,
      details: { format, bytes: bytes.length },
    });
  }
  const width = metadata.width;
  const height = metadata.pageHeight ?? metadata.height;
  if (width * height > maxPixels) {
    throw new ImageDecodeError(
      'IMAGE_TOO_LARGE',
      `image is ${width}x${height} = ${width * height} pixels, over the limit of ${maxPixels} ` +
        '(a possible decompression bomb; raise maxPixels if you trust it)',
      { file, details: { format, width, height, maxPixels } },
    );
  }

  try {
    if (metadata.space === 'cmyk') return await decodeCmyk(bytes, sharpOptions);
    const { data, info } = await sharp(bytes, sharpOptions)
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    return toRgb(data, info.width, info.height, info.channels);
  } catch (cause) {
    throw classifySharpError(cause, file, bytes.length, format);
  }
}

/**
 * Read a regular file, never blocking on anything else: opened non-blocking,
 * checked to be a regular file on the open descriptor (a FIFO, device or
 * directory is refused, also one swapped in after a check by path), at most
 * `maxBytes`. Throws the system error or a plain Error naming the problem.
 */
export async function readRegularFile(path: string, maxBytes = Number.MAX_SAFE_INTEGER): Promise<Buffer> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'ENOTREGULAR' });
    if (info.size > maxBytes) throw Object.assign(new Error(`the file is ${info.size} bytes; the limit is ${maxBytes}`), { code: 'ETOOBIG' });
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

async function readImageFile(path: string): Promise<Uint8Array> {
  try {
    return await readRegularFile(path);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOTREGULAR') {
      throw new ImageDecodeError('IMAGE_READ_FAILED', 'is not a regular file (a directory, FIFO or device)', { file: path, cause });
    }
    const reason = (cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be read';
    throw new ImageDecodeError('IMAGE_READ_FAILED', `image file ${reason}`, {
      file: path,
      cause,
      details: { errno: (cause as NodeJS.ErrnoException).code },
    });
  }
}

/** Read the CMYK samples as stored and convert them the way Pillow's `cmyk2rgb` does. */
async function decodeCmyk(bytes: Uint8Array, options: sharp.SharpOptions): Promise<RgbImage> {
  const { data, info } = await sharp(bytes, options)
    .pipelineColourspace('cmyk')
    .toColourspace('cmyk')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  const { width, height, channels } = info;
  const out = new Uint8Array(width * height * 3);
  for (let p = 0, i = 0; p < out.length; p += 3, i += channels) {
    const nk = 255 - (data[i + 3] as number);
    out[p] = nk - mulDiv255(data[i] as number, nk);
    out[p + 1] = nk - mulDiv255(data[i + 1] as number, nk);
    out[p + 2] = nk - mulDiv255(data[i + 2] as number, nk);
  }
  return createRgbImage(width, height, out);
}

/** Pillow's MULDIV255: a·b/255 rounded, in integer arithmetic. */
function mulDiv255(a: number, b: number): number {
  const t = a * b + 128;
  return ((t >> 8) + t) >> 8;
}

function toRgb(data: Uint8Array, width: number, height: number, channels: number): RgbImage {
  const pixels = width * height;
  if (channels === 3) return createRgbImage(width, height, new Uint8Array(data.subarray(0, pixels * 3)));
  const out = new Uint8Array(pixels * 3);
  for (let p = 0; p < pixels; p++) {
    const i = p * channels;
    if (channels <= 2) {
      const grey = data[i] as number;
      out[p * 3] = grey;
      out[p * 3 + 1] = grey;
      out[p * 3 + 2] = grey;
    } else {
      out[p * 3] = data[i] as number;
      out[p * 3 + 1] = data[i + 1] as number;
      out[p * 3 + 2] = data[i + 2] as number;
    }
  }
  return createRgbImage(width, height, out);
}

/** libwebp reports a cut-off file as a corrupt header; its RIFF size says more. */
function isTruncatedWebp(bytes: Uint8Array): boolean {
  const ascii = (from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to));
  if (bytes.length < 12 || ascii(0, 4) !== 'RIFF' || ascii(8, 12) !== 'WEBP') return false;
  const riffSize = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
  return bytes.length < riffSize + 8;
}

const TRUNCATED = /premature end|end of (stream|file|data|input)|truncat|unexpected end|not enough data|short read|incomplete/i;

function classifySharpError(cause: unknown, file: string | undefined, bytes: number, format?: string): ImageDecodeError {
  const message = cause instanceof Error ? cause.message : String(cause);
  const details = { bytes, ...(format === undefined ? {} : { format }), decoder: message };
  if (/unsupported image format/i.test(message)) {
    const accepted = DECODABLE_FORMATS.join(', ');
    return new ImageDecodeError('IMAGE_UNKNOWN_FORMAT', `not a recognised image (${bytes} bytes; expected ${accepted})`, {
      file,
      cause,
      details,
    });
  }
  if (/pixel limit/i.test(message)) {
    return new ImageDecodeError('IMAGE_TOO_LARGE', `image exceeds the pixel limit: ${message}`, { file, cause, details });
  }
  if (TRUNCATED.test(message)) {
    return new ImageDecodeError('IMAGE_TRUNCATED', `image data is truncated: ${message.trim()}`, { file, cause, details });
  }
  return new ImageDecodeError('IMAGE_CORRUPT', `image data is corrupt: ${message.trim()}`, { file, cause, details });
}
