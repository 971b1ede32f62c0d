import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testImageDataUrl } from './__fixtures__/tiny-model.js';
import { ApiError } from './api-error.js';
import { loadImages, parseImageUrl } from './image-input.js';

let root: string;
let png: Buffer;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'vasink-images-'));
  png = Buffer.from((await testImageDataUrl(40, 30)).split(',')[1]!, 'base64');
  await mkdir(join(root, 'allowed'));
  await writeFile(join(root, 'allowed', 'cat.png'), png);
  await writeFile(join(root, 'secret.png'), png);
  await symlink(join(root, 'secret.png'), join(root, 'allowed', 'escape.png'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function load(url: string, options: { imageDir?: string; maxPixels?: number; maxFileBytes?: number } = {}) {
  return loadImages([parseImageUrl(url, 'image')], { imageDir: options.imageDir, maxPixels: options.maxPixels ?? 10_000, maxFileBytes: options.maxFileBytes ?? 1 << 20 });
}

async function code(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  if (!(error instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(error)}`);
  expect(error.status).toBe(400);
  return error.code;
}

describe('loadImages', () => {
  it('decodes data URLs and refuses images over the pixel limit before decoding', async () => {
    const [image] = await load(`data:image/png;base64,${png.toString('base64')}`);
    expect([image!.width, image!.height]).toEqual([40, 30]);
    expect(await code(load(`data:image/png;base64,${png.toString('base64')}`, { maxPixels: 1000 }))).toBe('image_too_large');
    expect(await code(load(`data:image/png;base64,${png.subarray(0, 60).toString('base64')}`))).toBe('invalid_image');
  });

  it('reads file URLs only inside the image directory, symlinks resolved', async () => {
    const allowed = join(root, 'allowed');
    const [image] = await load(pathToFileURL(join(allowed, 'cat.png')).href, { imageDir: allowed });
    expect(image!.width).toBe(40);
    expect(await code(load(pathToFileURL(join(allowed, 'cat.png')).href))).toBe('image_url_not_allowed');
    expect(await code(load(pathToFileURL(join(allowed, 'missing.png')).href, { imageDir: allowed }))).toBe('image_not_found');
    // Outside the directory (directly or through a symlink), missing, a directory or a FIFO: one answer,
    // the same words, so that answers tell nothing of which files exist outside.
    mkdirSync(join(allowed, 'folder.png'), { recursive: true });
    execFileSync('mkfifo', [join(allowed, 'pipe.png')]);
    const answer = async (path: string) => {
      const error = await load(pathToFileURL(path).href, { imageDir: allowed }).then(() => undefined, (e: unknown) => e as ApiError);
      return `${error?.status} ${error?.code} ${error?.message.replace(pathToFileURL(path).href, 'URL')}`;
    };
    const missingOutside = await answer(join(root, 'no-such-secret.png'));
    expect(missingOutside).toMatch(/^400 image_not_found .*no readable image file at URL inside the server's image directory/);
    for (const path of [join(root, 'secret.png'), join(allowed, 'escape.png'), join(allowed, 'missing.png'), join(allowed, 'folder.png'), join(allowed, 'pipe.png')]) {
      expect(await answer(path), path).toBe(missingOutside);
    }
    expect(await code(load(pathToFileURL(join(allowed, 'cat.png')).href, { imageDir: allowed, maxFileBytes: 10 }))).toBe('image_too_large');
  });
});
