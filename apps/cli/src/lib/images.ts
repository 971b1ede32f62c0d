import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { type RgbImage, decodeImage } from '@vasink/image';
import { UsageError } from './usage.js';

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif']);

/** Image files from paths that are files or directories (non-recursive, sorted). */
export async function expandImagePaths(paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined);
    if (!info) throw new UsageError(`image not found: ${path}`);
    if (info.isDirectory()) {
      const named = (await readdir(path)).filter((f) => IMAGE_EXTENSIONS.has(extname(f).toLowerCase())).sort();
      // Regular files only (links followed): a FIFO or device named *.png would block the read.
      const regular = await Promise.all(named.map(async (f) => ((await stat(join(path, f)).catch(() => undefined))?.isFile() ? f : undefined)));
      const entries = regular.filter((f): f is string => f !== undefined);
      if (entries.length === 0) throw new UsageError(`no images (jpg, png, webp, gif) in ${path}`);
      files.push(...entries.map((f) => join(path, f)));
    } else files.push(path);
  }
  return files;
}

/** Decode image files; errors name the file. */
export async function loadImages(paths: readonly string[]): Promise<RgbImage[]> {
  return Promise.all(paths.map((p) => decodeImage(p)));
}
