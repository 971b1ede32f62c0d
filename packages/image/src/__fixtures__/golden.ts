// Loaders for the golden files written by tooling/fixtures/image/make_fixtures.py.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeImage } from '../decode-image.js';
import type { RgbImage } from '../rgb-image.js';

export const FIXTURES = dirname(fileURLToPath(import.meta.url));

export function fixturePath(relative: string): string {
  return join(FIXTURES, relative);
}

export function readJson<T>(relative: string): T {
  return JSON.parse(readFileSync(fixturePath(relative), 'utf8')) as T;
}

export function fromBase64(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'base64'));
}

export function float32FromBytes(bytes: Uint8Array): Float32Array {
  const copy = new Uint8Array(bytes);
  return new Float32Array(copy.buffer, 0, copy.length / 4);
}

export function readFloat32(relative: string): Float32Array {
  return float32FromBytes(new Uint8Array(readFileSync(fixturePath(relative))));
}

/** A source or expected PNG, decoded (PNG is lossless, so these are Pillow's exact pixels). */
export function loadPng(relative: string): Promise<RgbImage> {
  return decodeImage(fixturePath(relative));
}

export function loadSource(name: string): Promise<RgbImage> {
  return loadPng(`sources/${name}.png`);
}

/** Largest absolute difference between two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number));
    if (d > max || Number.isNaN(d)) max = d;
  }
  return max;
}
