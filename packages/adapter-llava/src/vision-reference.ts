import { type Float32Tensor, ShapeError, type TypedTensor, createTensor, toFloat32 } from '@vasink/tensor';
import { referenceLayerNorm, referenceLinear } from '@vasink/transformer-graph';
import { type LlavaActivation, llavaTokensPerImage, visionGridSize, visionLayersUsed } from './llava-config.js';
import type { LlavaVisionGraphConfig } from './vision-graph.js';
import { IMAGE_NEWLINE, VISION_PREFIX, projectorLinearName } from './vision-weights.js';

/** The activation of one value (float64), as PyTorch defines it. */
export function activationValue(x: number, activation: LlavaActivation): number {
  switch (activation) {
    case 'quick_gelu':
      return x / (1 + Math.exp(-1.702 * x));
    case 'gelu':
      return 0.5 * x * (1 + erf(x / Math.SQRT2));
    case 'gelu_pytorch_tanh':
      return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
  }
}

/** erf to ~1e-15 (Taylor series near 0, continued fraction of erfc beyond). */
function erf(x: number): number {
  const a = Math.abs(x);
  if (a < 2.5) {
    // Σ (−1)^n x^(2n+1) / (n! (2n+1)), times 2/√π.
    let term = a;
    let sum = a;
    for (let n = 1; n < 80; n++) {
      term *= (-a * a) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * ((2 / Math.sqrt(Math.PI)) * sum);
  }
  // erfc(a) = exp(−a²)/√π · 1/(a + 1/2/(a + 1/(a + 3/2/(a + …)))) (Lentz-free backward evaluation).
  let fraction = 0;
  for (let n = 60; n >= 1; n--) fraction = n / 2 / (a + fraction);
  const erfc = Math.exp(-a * a) / Math.sqrt(Math.PI) / (a + fraction);
  return Math.sign(x) * (1 - erfc);
}

/**
 * Plain TypeScript forward pass of the LLaVA vision graph (naive loops,
 * float64 accumulation): the reference `buildLlavaVisionGraph` is tested
 * against. `pixelValues [images, 3, S, S]` → `[images · P, text hidden]`;
 * LLaVA-NeXT: the rows `featureOrder` names, `images · P` being `image_newline`.
 * `weights` holds canonical names (`vision_model.*`, `multi_modal_projector.linear_k.*`), any float dtype.
 */
export function referenceLlavaVision(options: {
  config: LlavaVisionGraphConfig;
  weights: ReadonlyMap<string, TypedTensor>;
  pixelValues: Float32Tensor;
  featureOrder?: ArrayLike<number | bigint>;
}): Float32Tensor {
  const { config, pixelValues } = options;
  const { hiddenSize: d, numHeads: heads, patchSize: p, imageSize: size, numChannels: channels, layerNormEps: eps } = config.vision;
  const grid = visionGridSize(config.vision);
  const tokens = grid * grid + 1;
  const headDim = d / heads;
  const [images] = pixelValues.dims as [number];
  if (pixelValues.dims.length !== 4 || pixelValues.dims[1] !== channels || pixelValues.dims[2] !== size || pixelValues.dims[3] !== size) {
    throw new ShapeError(`pixel values must be [images, ${channels}, ${size}, ${size}], got [${pixelValues.dims.join(', ')}]`);
  }
  const weight = (name: string): Float32Array => {
    const t = options.weights.get(name);
    if (!t) throw new Error(`reference vision: missing weight ${name}`);
    return toFloat32(t).data;
  };
  const v = VISION_PREFIX;
  const pixels = pixelValues.data;

  const linear = (x: Float64Array, rows: number, name: string, inDim: number, outDim: number, bias: boolean) =>
    referenceLinear(x, rows, inDim, outDim, weight(`${name}.weight`), bias ? weight(`${name}.bias`) : undefined);
  const layerNorm = (x: Float64Array, rows: number, name: string) =>
    referenceLayerNorm(x, rows, d, weight(`${name}.weight`), weight(`${name}.bias`), eps);

  // Embeddings: CLS then patches (row-major over the grid), plus positions.
  const rows = images * tokens;
  let hidden = new Float64Array(rows * d);
  const kernel = weight(`${v}embeddings.patch_embedding.weight`);
  const cls = weight(`${v}embeddings.class_embedding`);
  const position = weight(`${v}embeddings.position_embedding.weight`);
  for (let n = 0; n < images; n++) {
    for (let i = 0; i < d; i++) hidden[n * tokens * d + i] = (cls[i] as number) + (position[i] as number);
    for (let gy = 0; gy < grid; gy++) {
      for (let gx = 0; gx < grid; gx++) {
        const t = 1 + gy * grid + gx;
        for (let o = 0; o < d; o++) {
          let sum = 0;
          for (let c = 0; c < channels; c++) {
            for (let ky = 0; ky < p; ky++) {
              for (let kx = 0; kx < p; kx++) {
                const pixel = pixels[((n * channels + c) * size + gy * p + ky) * size + gx * p + kx] as number;
                sum += pixel * (kernel[((o * channels + c) * p + ky) * p + kx] as number);
              }
            }
          }
          hidden[(n * tokens + t) * d + o] = sum + (position[t * d + o] as number);
        }
      }
    }
  }
  hidden = layerNorm(hidden, rows, `${v}pre_layrnorm`);

  for (let l = 0; l < visionLayersUsed(config); l++) {
    const prefix = `${v}encoder.layers.${l}`;
    const normed = layerNorm(hidden, rows, `${prefix}.layer_norm1`);
    const q = linear(normed, rows, `${prefix}.self_attn.q_proj`, d, d, true);
    const k = linear(normed, rows, `${prefix}.self_attn.k_proj`, d, d, true);
    const value = linear(normed, rows, `${prefix}.self_attn.v_proj`, d, d, true);
    const context = new Float64Array(rows * d);
    const scores = new Float64Array(tokens);
    for (let n = 0; n < images; n++) {
      for (let h = 0; h < heads; h++) {
        for (let t = 0; t < tokens; t++) {
          const qBase = (n * tokens + t) * d + h * headDim;
          let max = -Infinity;
          for (let s = 0; s < tokens; s++) {
            const kBase = (n * tokens + s) * d + h * headDim;
            let dot = 0;
            for (let i = 0; i < headDim; i++) dot += (q[qBase + i] as number) * (k[kBase + i] as number);
            scores[s] = dot * headDim ** -0.5;
            max = Math.max(max, scores[s] as number);
          }
          let total = 0;
          for (let s = 0; s < tokens; s++) {
            scores[s] = Math.exp((scores[s] as number) - max);
            total += scores[s] as number;
          }
          for (let s = 0; s < tokens; s++) {
            const a = (scores[s] as number) / total;
            const vBase = (n * tokens + s) * d + h * headDim;
            for (let i = 0; i < headDim; i++) context[qBase + i] = (context[qBase + i] as number) + a * (value[vBase + i] as number);
          }
        }
      }
    }
    const attended = linear(context, rows, `${prefix}.self_attn.out_proj`, d, d, true);
    for (let i = 0; i < hidden.length; i++) hidden[i] = (hidden[i] as number) + (attended[i] as number);
    const mlpIn = layerNorm(hidden, rows, `${prefix}.layer_norm2`);
    const inner = linear(mlpIn, rows, `${prefix}.mlp.fc1`, d, config.vision.intermediateSize, true).map((x) => activationValue(x, config.vision.hiddenAct));
    const out = linear(inner, rows, `${prefix}.mlp.fc2`, config.vision.intermediateSize, d, true);
    for (let i = 0; i < hidden.length; i++) hidden[i] = (hidden[i] as number) + (out[i] as number);
  }

  const perImage = llavaTokensPerImage(config);
  const skip = tokens - perImage;
  let features = new Float64Array(images * perImage * d);
  for (let n = 0; n < images; n++) features.set(hidden.subarray((n * tokens + skip) * d, (n + 1) * tokens * d), n * perImage * d);
  const text = config.text.hiddenSize;
  let width = d;
  for (let k = 0; k < config.projector.linearLayers; k++) {
    if (k > 0) features = features.map((x) => activationValue(x, config.projector.activation));
    features = linear(features, images * perImage, projectorLinearName(k), width, text, config.projector.bias);
    width = text;
  }
  if (!config.anyres) return createTensor('float32', [images * perImage, text], Float32Array.from(features));
  const order = options.featureOrder;
  if (!order) throw new Error('reference vision: a LLaVA-NeXT config needs featureOrder');
  const newline = weight(IMAGE_NEWLINE);
  const packed = new Float32Array(order.length * text);
  for (let i = 0; i < order.length; i++) {
    const row = Number(order[i]);
    if (row === images * perImage) packed.set(newline, i * text);
    else packed.set(features.subarray(row * text, (row + 1) * text), i * text);
  }
  return createTensor('float32', [order.length, text], packed);
}
