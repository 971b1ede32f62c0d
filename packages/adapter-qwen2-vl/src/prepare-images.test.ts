import { describe, expect, it } from 'vitest';
import { type RgbImage, createRgbImage } from '@vasink/image';
import { qwen2vlPreprocess } from './qwen2vl-preprocess.js';
import { smartResize } from './smart-resize.js';
import { seededRandom } from '@vasink/test-utils';
import type { Tensor } from 'onnxruntime-node';
import { QWEN2_VL_SYSTEM_PROMPT, type Qwen2VlAdapterSettings, type QwenManifest } from './adapter-settings.js';
import { prepareQwen2VlImages, preprocessOptions } from './prepare-images.js';
import { QWEN2_VL_IMAGE_DEFAULTS } from './preprocessor-config.js';
import { TINY_QWEN2_VL_SPECS } from './tiny-checkpoint.js';
import { VISION_IO } from './vision-graph.js';
import { visionPositionIds, visionSegmentIds } from './vision-inputs.js';

function manifestWith(minPixels: number, maxPixels: number): QwenManifest {
  const adapter: Qwen2VlAdapterSettings = {
    image: { ...QWEN2_VL_IMAGE_DEFAULTS, minPixels, maxPixels },
    imageTokenId: 151655,
    visionStartTokenId: 151652,
    visionEndTokenId: 151653,
    vision: TINY_QWEN2_VL_SPECS.tiny.vision,
    tensorLayout: 'legacy',
    systemPrompt: QWEN2_VL_SYSTEM_PROMPT,
  };
  // Only the fields a family reads matter here; the rest of a manifest is the runtime's.
  return { adapter } as Pick<QwenManifest, 'adapter'> as QwenManifest;
}

function noise(width: number, height: number, seed: number): RgbImage {
  const random = seededRandom(seed);
  return createRgbImage(width, height, Uint8Array.from({ length: width * height * 3 }, () => Math.floor(random() * 256)));
}

const sameBytes = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

describe('prepareQwen2VlImages', () => {
  // Odd sizes: below min pixels (scaled up), above max pixels (scaled down), a half-way rounding tie, a tall strip, one already settled.
  const cases = [
    { name: 'below min pixels', image: noise(45, 29, 1), min: 56 * 56, max: 28 * 28 * 32 },
    { name: 'above max pixels', image: noise(333, 251, 2), min: 56 * 56, max: 28 * 28 * 32 },
    { name: 'rounding tie 70 → 56', image: noise(70, 98, 3), min: 56 * 56, max: 28 * 28 * 1280 },
    { name: 'tall strip', image: noise(31, 300, 4), min: 56 * 56, max: 28 * 28 * 64 },
    { name: 'already on the grid', image: noise(140, 112, 5), min: 56 * 56, max: 28 * 28 * 32 },
  ];

  it.each(cases)('feeds equal qwen2vlPreprocess: $name', async ({ image, min, max }) => {
    const manifest = manifestWith(min, max);
    const prepared = await prepareQwen2VlImages([image], manifest);
    const expected = qwen2vlPreprocess([image], preprocessOptions(manifest.adapter.image));
    const pixels = prepared.feeds[VISION_IO.pixelValues] as Tensor;
    expect(pixels.dims).toEqual(expected.pixelValues.dims);
    expect(sameBytes(pixels.data as Float32Array, expected.pixelValues.data)).toBe(true);
    const [grid] = expected.gridThw;
    const size = smartResize(image.height, image.width, { minPixels: min, maxPixels: max });
    expect(grid).toEqual([1, size.height / 14, size.width / 14]);
    expect(size.height * size.width).toBeGreaterThanOrEqual(min);
    expect(size.height * size.width).toBeLessThanOrEqual(max);
    expect((prepared.extra as { gridThw: unknown }).gridThw).toEqual(expected.gridThw);
    expect(prepared.tokensPerImage).toEqual([(size.height / 28) * (size.width / 28)]);
    const panel = prepared.panels[0]?.[0];
    expect([panel?.rows, panel?.cols, panel?.tokens.length]).toEqual([size.height / 28, size.width / 28, prepared.tokensPerImage[0]]);
    expect([panel?.view.width, panel?.view.height]).toEqual([size.width, size.height]);
    expect((prepared.feeds[VISION_IO.positionIds] as Tensor).data).toEqual(visionPositionIds(expected.gridThw, 2));
    expect((prepared.feeds[VISION_IO.segmentIds] as Tensor).data).toEqual(visionSegmentIds(expected.gridThw, 2));
  });

  it('concatenates several images and gives each its own attention segment', async () => {
    const manifest = manifestWith(56 * 56, 28 * 28 * 32);
    const list = [noise(45, 29, 1), noise(333, 251, 2)];
    const prepared = await prepareQwen2VlImages(list, manifest);
    const expected = qwen2vlPreprocess(list, preprocessOptions({ ...QWEN2_VL_IMAGE_DEFAULTS, minPixels: 56 * 56, maxPixels: 28 * 28 * 32 }));
    expect(sameBytes((prepared.feeds[VISION_IO.pixelValues] as Tensor).data as Float32Array, expected.pixelValues.data)).toBe(true);
    const segments = Array.from((prepared.feeds[VISION_IO.segmentIds] as Tensor).data as BigInt64Array, Number);
    const [[, h0, w0], [, h1, w1]] = expected.gridThw as [[number, number, number], [number, number, number]];
    expect(segments.filter((s) => s === 0)).toHaveLength(h0 * w0);
    expect(segments.filter((s) => s === 1)).toHaveLength(h1 * w1);
    expect(prepared.tokensPerImage).toHaveLength(2);
  });

  it('prepares nothing for a text-only request', async () => {
    const prepared = await prepareQwen2VlImages([], manifestWith(3136, 25088));
    expect(prepared).toMatchObject({ feeds: {}, tokensPerImage: [], panels: [] });
  });
});
