// Test helper: run a model in onnxruntime-node (CPU) with vasink tensors in and out.
import { type TypedTensor, fromOrtTensor, toOrtTensor } from '@vasink/tensor';
import * as ort from 'onnxruntime-node';
import { encodeModel } from '../onnx-codec.js';
import type { ModelProto } from '../onnx-types.js';

/** Run a model given as a ModelProto (encoded in memory) or an .onnx path. */
export async function runModel(model: ModelProto | string, feeds: Record<string, TypedTensor>): Promise<Record<string, TypedTensor>> {
  const session =
    typeof model === 'string'
      ? await ort.InferenceSession.create(model, { executionProviders: ['cpu'] })
      : await ort.InferenceSession.create(encodeModel(model), { executionProviders: ['cpu'] });
  try {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, tensor] of Object.entries(feeds)) ortFeeds[name] = toOrtTensor(tensor) as ort.Tensor;
    const results = await session.run(ortFeeds);
    const out: Record<string, TypedTensor> = {};
    for (const [name, tensor] of Object.entries(results)) out[name] = fromOrtTensor(tensor);
    return out;
  } finally {
    await session.release();
  }
}

/** Deterministic pseudo-random floats in [-1, 1). */
export function randomFloats(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 31 - 1;
  }
  return out;
}

/** Max absolute difference between two float arrays of equal length. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
  return worst;
}
