import { describe, expect, it } from 'vitest';
import { type RgbImage, createRgbImage } from '@vasink/image';
import { llavaPreprocess, llavaPreprocessImage } from './llava-preprocess.js';
import { type ModelManifest, checkedManifest } from '@vasink/runtime';
import { createRandom } from './random.js';
import { type LlavaAdapterSettings } from './convert.js';
import { createLlavaFamily, llavaFamily } from './llava-family.js';
import { CLIP_NORMALIZATION, prepareLlavaImages } from './prepare-images.js';

function noiseImage(width: number, height: number, seed: number): RgbImage {
  const random = createRandom(seed);
  return createRgbImage(width, height, Uint8Array.from({ length: width * height * 3 }, () => Math.floor(random.uniform() * 256)));
}

/** Odd sizes: wide, tall, tiny, square-ish, prime. */
const IMAGES = [noiseImage(37, 23, 1), noiseImage(50, 81, 2), noiseImage(7, 300, 3), noiseImage(230, 29, 4), noiseImage(61, 61, 5), noiseImage(1, 1, 6)];

/** A manifest as read from disk (the adapter section unchecked), and as a loaded model holds it (checked by `readSettings`). */
function diskManifest(adapter: Partial<Record<keyof LlavaAdapterSettings, unknown>>): ModelManifest {
  const settings: LlavaAdapterSettings = {
    layout: 'llava-hf',
    imageSize: 56,
    patchSize: 14,
    tokensPerImage: 16,
    preprocess: 'pad',
    ...CLIP_NORMALIZATION,
    promptFormat: 'vicuna_v1',
    visionFeatureLayer: -2,
    visionFeatureSelectStrategy: 'default',
    imageTokenInVocabulary: true,
  };
  // Only the fields a family reads matter here; the rest of a manifest is the runtime's.
  return { family: 'llava', adapter: { ...settings, ...adapter } } as Pick<ModelManifest, 'family' | 'adapter'> as ModelManifest;
}

function manifestWith(adapter: Partial<LlavaAdapterSettings>): ModelManifest<LlavaAdapterSettings> {
  return checkedManifest(llavaFamily, diskManifest(adapter));
}

describe('prepareLlavaImages', () => {
  it.each(['pad', 'hf'] as const)('feeds exactly llavaPreprocess and shows its picture (%s)', (mode) => {
    // 112 rather than 336 keeps the suite fast; the resampler's Pillow equality at 336 is @vasink/image's own test.
    const size = 112;
    const prepared = prepareLlavaImages(IMAGES, { imageSize: size, patchSize: 14, tokensPerImage: 64, mode, ...CLIP_NORMALIZATION });
    const pixels = prepared.feeds.pixel_values!;
    expect(pixels.dims).toEqual([IMAGES.length, 3, size, size]);
    const data = pixels.data as Float32Array;
    IMAGES.forEach((image, i) => {
      const expected = llavaPreprocess(image, { mode, size }).pixelValues.data;
      expect(Array.from(data.subarray(i * 3 * size * size, (i + 1) * 3 * size * size))).toEqual(Array.from(expected));
      const view = prepared.panels[i]![0]!.view;
      const expectedView = llavaPreprocessImage(image, { mode, size });
      expect([view.width, view.height]).toEqual([size, size]);
      expect(Buffer.from(view.data).equals(Buffer.from(expectedView.data))).toBe(true);
    });
    expect(prepared.tokensPerImage).toEqual(IMAGES.map(() => 64));
    expect(prepared.panels.map((panels) => panels.map(({ rows, cols, tokens }) => ({ rows, cols, tokens: tokens.length, last: tokens.at(-1) })))).toEqual(
      IMAGES.map(() => [{ rows: 8, cols: 8, tokens: 64, last: 63 }]),
    );
  });

  it('takes the mode from the manifest, or from the family override', async () => {
    const image = IMAGES[1]!;
    const fromManifest = await llavaFamily.prepareImages([image], manifestWith({ preprocess: 'hf' }));
    const padded = await llavaFamily.prepareImages([image], manifestWith({}));
    const overridden = await createLlavaFamily({ preprocessMode: 'hf' }).prepareImages([image], manifestWith({}));
    const hf = llavaPreprocess(image, { mode: 'hf', size: 56 }).pixelValues.data;
    expect(Array.from(fromManifest.feeds.pixel_values!.data as Float32Array)).toEqual(Array.from(hf));
    expect(Array.from(overridden.feeds.pixel_values!.data as Float32Array)).toEqual(Array.from(hf));
    expect(Array.from(padded.feeds.pixel_values!.data as Float32Array)).toEqual(Array.from(llavaPreprocess(image, { mode: 'pad', size: 56 }).pixelValues.data));
  });

  it('uses the checkpoint normalisation and rejects unusable settings', async () => {
    const image = IMAGES[0]!;
    const custom = { imageMean: [0.5, 0.5, 0.5], imageStd: [0.5, 0.5, 0.5] } as const;
    const prepared = await llavaFamily.prepareImages([image], manifestWith(custom));
    const expected = llavaPreprocess(image, { size: 56, normalize: { mean: custom.imageMean, std: custom.imageStd } }).pixelValues.data;
    expect(Array.from(prepared.feeds.pixel_values!.data as Float32Array)).toEqual(Array.from(expected));
    expect(() => manifestWith({ preprocess: 'crop' as never })).toThrow(
      'manifest.json: adapter.preprocess is missing or invalid (expected "pad" or "hf"); convert the checkpoint again with this vasink',
    );
    expect(() => prepareLlavaImages([image], { imageSize: 50, patchSize: 14, tokensPerImage: 9, mode: 'pad', ...CLIP_NORMALIZATION })).toThrow(
      'image size 50 must be a positive multiple of the patch size 14',
    );
    expect(() => createLlavaFamily({ preprocessMode: 'squash' as never })).toThrow("preprocessMode must be 'pad' or 'hf'");
  });
});
