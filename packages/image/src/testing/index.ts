// Readers for golden fixture directories written by the Python reference scripts
// (tooling/fixtures/*/make_fixtures.py): JSON case lists, raw float32 arrays and
// Pillow-written PNGs. Test-only: `@vasink/image/testing`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeImage } from '../decode-image.js';
import type { RgbImage } from '../rgb-image.js';

export interface GoldenFixtures {
  /** The directory the readers resolve against. */
  readonly dir: string;
  path(relative: string): string;
  readJson<T>(relative: string): T;
  /** A raw little-endian float32 file. */
  readFloat32(relative: string): Float32Array;
  /** A PNG, decoded (PNG is lossless, so these are Pillow's exact pixels). */
  loadPng(relative: string): Promise<RgbImage>;
  /** `sources/<name>.png`. */
  loadSource(name: string): Promise<RgbImage>;
}

/** Readers for the golden files in `dir`. */
export function goldenFixtures(dir: string): GoldenFixtures {
  const path = (relative: string) => join(dir, relative);
  const loadPng = (relative: string) => decodeImage(path(relative));
  return {
    dir,
    path,
    readJson: <T>(relative: string) => JSON.parse(readFileSync(path(relative), 'utf8')) as T,
    readFloat32: (relative: string) => float32FromBytes(new Uint8Array(readFileSync(path(relative)))),
    loadPng,
    loadSource: (name: string) => loadPng(`sources/${name}.png`),
  };
}

export function fromBase64(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'base64'));
}

/** Little-endian float32 values of `bytes` (copied, so any alignment works). */
export function float32FromBytes(bytes: Uint8Array): Float32Array {
  const copy = new Uint8Array(bytes);
  return new Float32Array(copy.buffer, 0, copy.length / 4);
}

/** Largest absolute difference between two equally long arrays (NaN counts as a difference). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number));
    if (d > max || Number.isNaN(d)) max = d;
  }
  return max;
}
