import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CLIP_MEAN, CLIP_STD, decodeImage } from '@vasink/image';
import type { Tensor } from 'onnxruntime-node';
import { anyresFeatureOrder, anyresLayout, anyresTiles, selectBestResolution } from './anyres.js';
import { prepareLlavaNextImages } from './prepare-images.js';
import { VISION_IO } from './vision-graph.js';

// Golden values from tooling/fixtures/llava-next/make_fixtures.py: transformers' LlavaNextImageProcessor,
// LlavaNextProcessor._get_number_of_features and LlavaNextModel.pack_image_features, re-implemented with numpy + Pillow.
const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '__fixtures__', 'llava-next');

interface GoldenCase {
  name: string;
  source: string;
  width: number;
  height: number;
  best_resolution: [number, number];
  resized: [number, number];
  padding: { top: number; bottom: number; left: number; right: number };
  tiles: number;
  tile_sha256: string[];
  pixel_sum: number;
  pixel_sample: string;
  sample_stride: number;
  num_image_tokens: number;
  unpadded: [number, number];
  feature_order_sha256: string;
  feature_order_head: number[];
  feature_order_tail: number[];
  feature_order_length: number;
}

interface Golden {
  config: { image_size: number; patch_size: number; pinpoints: [number, number][] };
  cases: GoldenCase[];
  tiny: {
    image_size: number;
    patch_size: number;
    pinpoints: [number, number][];
    cases: { name: string; width: number; height: number; best_resolution: [number, number]; num_image_tokens: number; unpadded: [number, number]; tiles: number; feature_order: number[] }[];
  };
}

const golden = JSON.parse(readFileSync(join(FIXTURES, 'golden.json'), 'utf8')) as Golden;
const real = { imageSize: golden.config.image_size, patchSize: golden.config.patch_size, pinpoints: golden.config.pinpoints };
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('LLaVA-NeXT anyres preprocessing against the transformers processor (numpy + Pillow reference)', () => {
  it('covers at least 20 sizes, extreme aspect ratios both ways included', () => {
    expect(golden.cases.length).toBeGreaterThanOrEqual(20);
    const ratios = golden.cases.map((c) => c.width / c.height);
    expect(Math.max(...ratios)).toBeGreaterThan(100);
    expect(Math.min(...ratios)).toBeLessThan(1 / 100);
  });

  it.each(golden.cases.map((c) => [c.name, c] as const))('%s: pinpoint, resize, padding, tile pixels (bit-exact), token count and feature order', async (_, expected) => {
    const image = await decodeImage(join(FIXTURES, expected.source));
    expect([image.width, image.height]).toEqual([expected.width, expected.height]);
    const layout = anyresLayout(image.width, image.height, real);
    expect(layout.bestResolution).toEqual(expected.best_resolution);
    expect(layout.resized).toEqual(expected.resized);
    expect(layout.padding).toEqual(expected.padding);
    expect(layout.tiles).toBe(expected.tiles);
    expect([layout.unpadded.rows, layout.unpadded.cols]).toEqual(expected.unpadded);
    expect(layout.tokens).toBe(expected.num_image_tokens);

    // Zero pixel difference: every tile's uint8 pixels hash alike.
    const { tiles } = anyresTiles(image, layout, real.imageSize);
    expect(tiles.map((tile) => sha256(tile.data))).toEqual(expected.tile_sha256);

    const order = anyresFeatureOrder(layout, 0, layout.tiles * layout.grid * layout.grid);
    expect(order.length).toBe(expected.feature_order_length);
    expect(order.slice(0, 40)).toEqual(expected.feature_order_head);
    expect(order.slice(-40)).toEqual(expected.feature_order_tail.slice(-Math.min(40, order.length)));
    expect(sha256(new Uint8Array(BigInt64Array.from(order, (x) => BigInt(x)).buffer))).toBe(expected.feature_order_sha256);

    // The normalised pixel_values feed: a strided sample and the sum.
    const prepared = prepareLlavaNextImages([image], { ...real, imageMean: CLIP_MEAN, imageStd: CLIP_STD, rescaleFactor: 1 / 255 });
    const pixels = (prepared.feeds[VISION_IO.pixelValues] as Tensor).data as Float32Array;
    expect(pixels.length).toBe(expected.tiles * 3 * real.imageSize * real.imageSize);
    const sample = new Float32Array(new Uint8Array(Buffer.from(expected.pixel_sample, 'base64')).buffer);
    let worst = 0;
    sample.forEach((value, i) => {
      worst = Math.max(worst, Math.abs((pixels[i * expected.sample_stride] as number) - value));
    });
    expect(worst).toBeLessThanOrEqual(1e-6);
    let sum = 0;
    for (const x of pixels) sum += x;
    expect(Math.abs(sum - expected.pixel_sum)).toBeLessThanOrEqual(1e-6 * pixels.length);
    expect(prepared.tokensPerImage).toEqual([expected.num_image_tokens]);
    expect(Array.from((prepared.feeds[VISION_IO.featureOrder] as Tensor).data as BigInt64Array, Number)).toEqual(order);
  });

  it.each(golden.tiny.cases.map((c) => [c.name, c] as const))('tiny tower (28-px tiles): %s', (_, expected) => {
    const layout = anyresLayout(expected.width, expected.height, { imageSize: golden.tiny.image_size, patchSize: golden.tiny.patch_size, pinpoints: golden.tiny.pinpoints });
    expect(layout.bestResolution).toEqual(expected.best_resolution);
    expect([layout.unpadded.rows, layout.unpadded.cols]).toEqual(expected.unpadded);
    expect(layout.tokens).toBe(expected.num_image_tokens);
    expect(layout.tiles).toBe(expected.tiles);
    expect(anyresFeatureOrder(layout, 0, layout.tiles * layout.grid * layout.grid)).toEqual(expected.feature_order);
  });

  it('orders several images one after another, the newline after every tile of every image', async () => {
    const a = await decodeImage(join(FIXTURES, 'sources/photo-640x480.png'));
    const b = await decodeImage(join(FIXTURES, 'sources/mixed-176x55.png'));
    const settings = { ...real, imageMean: CLIP_MEAN, imageStd: CLIP_STD, rescaleFactor: 1 / 255 };
    const both = prepareLlavaNextImages([a, b], settings);
    const [la, lb] = [anyresLayout(a.width, a.height, real), anyresLayout(b.width, b.height, real)];
    const newline = (la.tiles + lb.tiles) * 576;
    expect(Array.from((both.feeds[VISION_IO.featureOrder] as Tensor).data as BigInt64Array, Number)).toEqual([
      ...anyresFeatureOrder(la, 0, newline),
      ...anyresFeatureOrder(lb, la.tiles, newline),
    ]);
    expect((both.feeds[VISION_IO.pixelValues] as Tensor).dims).toEqual([la.tiles + lb.tiles, 3, 336, 336]);
    expect(both.tokensPerImage).toEqual([la.tokens, lb.tokens]);
    // Panels: the base view (24 × 24, tokens 0 … 575) and the unpadded tiles, skipping each row's newline token.
    const [base, tiles] = both.panels[0]!;
    expect([base!.label, base!.rows, base!.cols, base!.tokens.at(-1)]).toEqual(['base', 24, 24, 575]);
    expect([tiles!.label, tiles!.rows, tiles!.cols, tiles!.view.width, tiles!.view.height]).toEqual(['tiles', 36, 48, 48 * 14, 36 * 14]);
    expect(tiles!.tokens.slice(47, 49)).toEqual([576 + 47, 576 + 49]);
  });

  it('picks the pinpoint keeping the most pixels, then the least waste, the first among equals', () => {
    const pinpoints = real.pinpoints;
    expect(selectBestResolution(480, 640, pinpoints)).toEqual([672, 672]);
    expect(selectBestResolution(10, 10, pinpoints)).toEqual([336, 672]);
    expect(selectBestResolution(100, 1000, pinpoints)).toEqual([336, 1008]);
    expect(() => selectBestResolution(10, 10, [])).toThrow(/image_grid_pinpoints is empty/);
    expect(() => anyresLayout(0, 10, real)).toThrow(/positive integers/);
  });
});
