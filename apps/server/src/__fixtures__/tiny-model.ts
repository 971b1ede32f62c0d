import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { llavaFamily, writeTinyLlavaCheckpoint } from '@vasink/adapter-llava';
import { createRgbImage, encodePng } from '@vasink/image';
import { VisionLanguageModel } from '@vasink/runtime';
import type { ServedModel } from '../served-model.js';

/** A converted tiny LLaVA model in a fresh temp dir (one per test file: conversion takes seconds). */
export async function convertTinyModel(): Promise<{ dir: string; root: string; cleanup: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'vasink-server-'));
  const checkpoint = await writeTinyLlavaCheckpoint(join(root, 'hf'), { size: 'tiny' });
  const dir = join(root, 'tiny-llava');
  await llavaFamily.convert({ source: checkpoint.dir, target: dir, dtype: 'float32' });
  await rm(checkpoint.dir, { recursive: true, force: true });
  return { dir, root, cleanup: () => rm(root, { recursive: true, force: true }) };
}

/** Load a converted model on CPU. */
export function loadTinyModel(dir: string): Promise<VisionLanguageModel> {
  return VisionLanguageModel.load(dir, { families: [llavaFamily], device: 'cpu', intraOpNumThreads: 1 });
}

/**
 * A model whose `prepare` waits for `gate` (to hold a slot deterministically)
 * and whose token events come at most one per `delayMs` (to keep a generation
 * running while a test disconnects or times out).
 */
export function throttledModel(model: ServedModel, control: { gate?: Promise<void>; delayMs?: number }): ServedModel {
  return {
    dir: model.dir,
    manifest: model.manifest,
    tokenizer: model.tokenizer,
    device: model.device,
    sinkDims: model.sinkDims,
    get maxBatchRows() {
      return model.maxBatchRows;
    },
    get batchStats() {
      return model.batchStats;
    },
    async prepare(request) {
      await control.gate;
      return model.prepare(request);
    },
    async *generate(prepared, options) {
      for await (const event of model.generate(prepared, options)) {
        if (control.delayMs) await new Promise((resolve) => setTimeout(resolve, control.delayMs));
        yield event;
      }
    },
    inspect: (prepared, rows) => model.inspect(prepared, rows),
    close: () => model.close(),
  };
}

/** A small PNG as a data URL: a colour gradient with a bright square. */
export async function testImageDataUrl(width = 64, height = 48): Promise<string> {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const bright = x > width / 2 && y < height / 2;
      data.set(bright ? [250, 250, 240] : [(x * 4) % 256, (y * 5) % 256, 90], (y * width + x) * 3);
    }
  }
  return `data:image/png;base64,${Buffer.from(await encodePng(createRgbImage(width, height, data))).toString('base64')}`;
}
