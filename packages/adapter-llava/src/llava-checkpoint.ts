import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Checkpoint, SafetensorsError, openCheckpoint } from '@vasink/safetensors';
import {
  WeightMismatchError,
  type WeightNaming,
  type WeightSource,
  assertDecoderWeights,
  checkpointWeightSource,
} from '@vasink/transformer-graph';
import { LlavaConfigError, MissingVisionTowerError, UnsupportedCheckpointError } from './errors.js';
import { type LlavaConfig, anyLlavaArchitectureOf, parseLlavaConfig } from './llava-config.js';
import { VISION_PREFIX, type VisionWeightSources, assertVisionWeights } from './vision-weights.js';

/**
 * Tensor naming of a LLaVA-1.5 checkpoint:
 * - `llava-hf-legacy`: llava-hf before transformers 4.52 (`language_model.model.*`, `language_model.lm_head`, `vision_tower.vision_model.*`, `multi_modal_projector.*`);
 * - `llava-hf`: newer llava-hf (`model.language_model.*`, `lm_head`, `model.vision_tower.vision_model.*`, `model.multi_modal_projector.*`);
 * - `original`: the original release (`model.layers.*`, `lm_head`, `model.mm_projector.0/2`), CLIP in a checkpoint of its own (`vision_model.*`).
 */
export type LlavaLayout = 'llava-hf-legacy' | 'llava-hf' | 'original';

/** A LLaVA-1.5 or LLaVA-NeXT checkpoint, config read and every tensor checked. */
export interface LlavaCheckpoint {
  readonly dir: string;
  readonly config: LlavaConfig;
  /** config.json as stored. */
  readonly rawConfig: Readonly<Record<string, unknown>>;
  readonly layout: LlavaLayout;
  /** The language model: canonical decoder names (`layers.0.self_attn.q_proj.weight`, `lm_head.weight`) → the checkpoint's. */
  readonly decoderWeights: { source: WeightSource; naming: WeightNaming };
  /** The vision tower and projector (canonical `vision_model.*`, `multi_modal_projector.linear_k.*`). */
  readonly visionWeights: VisionWeightSources;
  /** Directory of the separate CLIP checkpoint (original layout), else undefined. */
  readonly visionTowerDir: string | undefined;
  /** Close the checkpoint files. */
  close(): Promise<void>;
}

export interface ReadLlavaCheckpointOptions {
  /** The CLIP checkpoint directory an original-layout release needs (`mm_vision_tower`). */
  visionTower?: string;
}

type Json = Record<string, unknown>;

async function readJsonFile(path: string, what: string): Promise<Json> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new LlavaConfigError(code === 'ENOENT' ? `${path} not found: ${what}` : `cannot read ${path}: ${(error as Error).message}`, { file: path });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new LlavaConfigError(`${path} is not valid JSON: ${(error as Error).message}`, { file: path });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new LlavaConfigError(`${path} is not a JSON object`, { file: path });
  return json as Json;
}

async function open(dir: string, what: string): Promise<Checkpoint> {
  try {
    return await openCheckpoint(dir);
  } catch (error) {
    if (error instanceof SafetensorsError && error.reason === 'checkpoint-not-found') {
      throw new UnsupportedCheckpointError(
        `${what} ${dir} has no safetensors weights (model.safetensors or model.safetensors.index.json); vasink reads safetensors only — convert PyTorch .bin files first (transformers: save_pretrained(..., safe_serialization=True))`,
        { dir, cause: error.message },
      );
    }
    throw error;
  }
}

/** llava-hf decoder naming under `languageModel` (its `lm_head` at `lmHead`). */
function prefixedDecoder(languageModel: string, lmHead: string): WeightNaming {
  return (n) => (n === 'lm_head.weight' ? lmHead : `${languageModel}${n}`);
}

/** The original release's projector: `mm_projector.{0,2,4,…}` (mlpNx_gelu), or `mm_projector` alone (linear). */
function originalProjector(linearLayers: number): WeightNaming {
  return (canonical) => {
    const match = /^multi_modal_projector\.linear_(\d+)\.(weight|bias)$/.exec(canonical);
    if (!match) return canonical;
    const k = Number(match[1]) - 1;
    return linearLayers === 1 ? `model.mm_projector.${match[2]}` : `model.mm_projector.${2 * k}.${match[2]}`;
  };
}

/**
 * Canonical → stored tensor names of each layout: decoder (`layers.0.…`,
 * `lm_head.weight`), vision tower (`vision_model.…`; for `original`, the
 * names inside the separate CLIP checkpoint) and projector.
 */
export function llavaLayoutNaming(layout: LlavaLayout, projectorLayers = 2): { decoder: WeightNaming; vision: WeightNaming; projector: WeightNaming } {
  switch (layout) {
    case 'llava-hf-legacy':
      return { decoder: prefixedDecoder('language_model.model.', 'language_model.lm_head.weight'), vision: (n) => `vision_tower.${n}`, projector: (n) => n };
    case 'llava-hf':
      return { decoder: prefixedDecoder('model.language_model.', 'lm_head.weight'), vision: (n) => `model.vision_tower.${n}`, projector: (n) => `model.${n}` };
    case 'original':
      return { decoder: prefixedDecoder('model.', 'lm_head.weight'), vision: (n) => n, projector: originalProjector(projectorLayers) };
  }
}

/** Tensor of the original release's embedded vision tower (checkpoints trained with an unfrozen tower). */
const EMBEDDED_TOWER = 'model.vision_tower.vision_tower.';

/**
 * Open a LLaVA-1.5 checkpoint directory (also a Hugging Face cache snapshot
 * of symlinks): read config.json, detect the tensor layout, and check every
 * tensor the graphs need — all before any graph is built. The original
 * release needs its CLIP vision tower as a second directory (`visionTower`)
 * unless the checkpoint carries the tower's weights.
 */
export async function readLlavaCheckpoint(dir: string, options: ReadLlavaCheckpointOptions = {}): Promise<LlavaCheckpoint> {
  const configFile = join(dir, 'config.json');
  const rawConfig = await readJsonFile(configFile, 'a Hugging Face checkpoint directory holds config.json');
  const architecture = anyLlavaArchitectureOf(rawConfig);
  if (!architecture) parseLlavaConfig(rawConfig, { file: configFile }); // throws the unsupported-architecture error

  const towerConfigFile = options.visionTower ? join(options.visionTower, 'config.json') : undefined;
  const towerConfig = towerConfigFile ? await readJsonFile(towerConfigFile, 'the vision tower directory must be a CLIP checkpoint with config.json') : undefined;
  const config = (() => {
    try {
      return parseLlavaConfig(rawConfig, { file: configFile, ...(towerConfig && towerConfigFile ? { visionTowerConfig: { json: towerConfig, file: towerConfigFile } } : {}) });
    } catch (error) {
      // An original release without a tower config: report the missing tower, not a config field.
      if (architecture === 'LlavaLlamaForCausalLM' && !towerConfig && error instanceof LlavaConfigError && error.details.field === 'mm_vision_tower') {
        throw missingTower(dir, rawConfig);
      }
      throw error;
    }
  })();

  const checkpoint = await open(dir, 'checkpoint');
  const opened: Checkpoint[] = [checkpoint];
  const close = async () => {
    await Promise.all(opened.map((c) => c.close()));
  };
  try {
    const source = checkpointWeightSource(checkpoint);
    let layout: LlavaLayout;
    let decoderNaming: WeightNaming;
    let visionWeights: VisionWeightSources;
    let visionTowerDir: string | undefined;
    if (architecture === 'LlavaForConditionalGeneration' || architecture === 'LlavaNextForConditionalGeneration') {
      const found = (['llava-hf-legacy', 'llava-hf'] as const).find((candidate) => checkpoint.has(llavaLayoutNaming(candidate).decoder('embed_tokens.weight')));
      if (found) {
        layout = found;
        const naming = llavaLayoutNaming(found);
        decoderNaming = naming.decoder;
        visionWeights = { vision: { source, naming: naming.vision }, projector: { source, naming: naming.projector } };
      } else {
        throw new WeightMismatchError(
          `${dir}: no language model tensors found (looked for language_model.model.embed_tokens.weight and model.language_model.embed_tokens.weight); is this a llava-hf checkpoint?`,
          { dir, problems: ['missing tensor language_model.model.embed_tokens.weight'] },
        );
      }
    } else {
      layout = 'original';
      const naming = llavaLayoutNaming('original', config.projector.linearLayers);
      decoderNaming = naming.decoder;
      const projector = { source, naming: naming.projector };
      if (checkpoint.has(`${EMBEDDED_TOWER}${VISION_PREFIX}embeddings.patch_embedding.weight`)) {
        visionWeights = { vision: { source, naming: (n) => `${EMBEDDED_TOWER}${n}` }, projector };
      } else {
        if (!options.visionTower) throw missingTower(dir, rawConfig);
        const tower = await open(options.visionTower, 'vision tower');
        opened.push(tower);
        visionTowerDir = options.visionTower;
        visionWeights = { vision: { source: checkpointWeightSource(tower), naming: naming.vision }, projector };
      }
    }
    await assertDecoderWeights(config.text, source, decoderNaming);
    await assertVisionWeights(config, visionWeights);
    return {
      dir,
      config,
      rawConfig,
      layout,
      decoderWeights: { source, naming: decoderNaming },
      visionWeights,
      visionTowerDir,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

function missingTower(dir: string, rawConfig: Json): MissingVisionTowerError {
  const name = typeof rawConfig.mm_vision_tower === 'string' ? rawConfig.mm_vision_tower : undefined;
  return new MissingVisionTowerError(
    `${dir} is an original LLaVA release (LlavaLlamaForCausalLM) without its vision tower: download ${name ?? 'the CLIP checkpoint named by mm_vision_tower'} and give its directory (visionTower / --vision-tower)`,
    { dir, visionTower: name },
  );
}
