import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { type RgbImage, colormap, createRgbImage, encodePng, markTokens, overlayHeatmap } from '@vasink/image';
import type { ImagePanel, Inspection, RowSettings } from '@vasink/runtime';
import { expandImagePaths, loadImages } from '../lib/images.js';
import { METHOD_FLAGS, activeLayers, methodHelp, methodRowFromFlags, methodsFromFlags, rowName } from '../lib/method-flags.js';
import { UsageError, intListFlag, parseCommand, required } from '../lib/usage.js';
import { VAR_FLAGS, VAR_HELP } from '../lib/var-flags.js';
import { MODEL_FLAGS, MODEL_HELP, openModel } from './model-flags.js';

const HELP = `usage: vasink inspect --model <dir> --image <file> --prompt <text> --out <dir> [options]

Run one prefill without and with the method (default VAR) through the diagnostic graph and write:
  report.json                      sinks, visual sinks (image patches), selected heads,
                                   moved mass and image attention per layer
  sinks-<image>.png                the image as the model sees it, visual sink patches marked
  attention-L<layer>-<base|method>-<image>.png
                                   attention of the eligible text queries over the image
  heads.png                        layer × head map of image-centric (selected) rows
  --layers a,b,...                 layers to draw heatmaps for (default: every layer the method acts on)
  --template default|chat
${methodHelp()}${VAR_HELP}${MODEL_HELP}`;

export async function runInspect(args: string[]): Promise<number> {
  const parsed = parseCommand(
    args,
    { ...MODEL_FLAGS, ...VAR_FLAGS, ...METHOD_FLAGS, image: { type: 'string', multiple: true }, prompt: { type: 'string' }, out: { type: 'string' }, layers: { type: 'string' }, template: { type: 'string' } },
    HELP,
  );
  if (!parsed) return 0;
  const { values } = parsed;
  const question = required(values.prompt, 'prompt');
  const out = required(values.out, 'out');
  const imageFiles = await expandImagePaths(values.image ?? []);
  if (imageFiles.length === 0) throw new UsageError('--image is required (see --help)');
  const methods = methodsFromFlags(values);
  if (methods.length === 0) throw new UsageError('inspect compares without and with a method: drop --no-var / --method none');
  const template = values.template ?? 'default';
  if (template !== 'default' && template !== 'chat') throw new UsageError(`--template must be default or chat, got "${template}"`);
  const images = await loadImages(imageFiles);
  const model = await openModel(values, { decoder: 'diagnostic' });
  try {
    const prepared = await model.prepare({ question, images, template });
    // The attention maps are of the prefill: a method's contrast (a second row at sampling) has no part in them.
    const { contrast: _, ...row } = methodRowFromFlags(methods, values, model);
    const rows: RowSettings[] = [{}, row];
    const inspection = await model.inspect(prepared, rows);
    const L = model.manifest.decoder.numLayers;
    const active = activeLayers(row, { numLayers: L, sinkStartLayer: model.manifest.sink.startLayer });
    const name = rowName(methods);
    const layers = intListFlag(values.layers, 'layers') ?? [...active.keys()].filter((l) => active[l]);
    for (const l of layers) if (l >= L) throw new UsageError(`--layers: layer ${l} does not exist (the model has ${L})`);
    await mkdir(out, { recursive: true });
    const report = await writeInspection({ out, inspection, prepared, imageFiles, layers, active, heads: model.manifest.decoder.numHeads, name });
    await writeFile(join(out, 'report.json'), `${JSON.stringify({ model: model.dir, family: model.manifest.family, question, method: name, settings: row, var: row.var ?? null, ...report }, null, 2)}\n`);
    process.stderr.write(`wrote ${report.files.length + 1} files to ${out}\n`);
    return 0;
  } finally {
    await model.close();
  }
}

interface WriteInput {
  out: string;
  inspection: Inspection;
  prepared: { prompt: { imageMask: Uint8Array; inputIds: readonly number[] }; images: { panels: readonly (readonly ImagePanel[])[]; tokensPerImage: readonly number[] } };
  imageFiles: string[];
  layers: number[];
  active: Uint8Array;
  heads: number;
  /** The method row's name in files and the report (default `var`). */
  name?: string;
}

/** Write the pictures and return the report's body. */
export async function writeInspection(input: WriteInput) {
  const { out, inspection, prepared, imageFiles, layers, active, heads } = input;
  const name = input.name ?? 'var';
  const [base, withVar] = inspection.rows as [Inspection['rows'][number], Inspection['rows'][number]];
  const imagePositions = [...prepared.prompt.imageMask.entries()].filter(([, m]) => m).map(([t]) => t);
  // Which image and patch each image position is.
  const patchOf = new Map<number, { image: number; patch: number }>();
  let k = 0;
  prepared.images.tokensPerImage.forEach((count, image) => {
    for (let patch = 0; patch < count; patch++) patchOf.set(imagePositions[k++] as number, { image, patch });
  });
  const files: string[] = [];
  const save = async (name: string, image: RgbImage) => {
    await writeFile(join(out, name), await encodePng(image));
    files.push(name);
  };
  const stem = (i: number) => basename(imageFiles[i] ?? `image${i}`).replace(/\.[^.]+$/, '');

  const perLayer = withVar.layers.map((layer, l) => {
    const visualSinks = layer.sinkPositions.filter((t) => patchOf.has(t)).map((t) => ({ position: t, ...patchOf.get(t)! }));
    const imageShare = (attention: Float32Array) => {
      let total = 0;
      for (let h = 0; h < heads; h++) for (const t of imagePositions) total += attention[h * prepared.prompt.inputIds.length + t] as number;
      return total / heads;
    };
    return {
      layer: l,
      /** The method acts on this layer (named varActive since VAR was the only method). */
      varActive: active[l] === 1,
      sinks: layer.sinkPositions,
      visualSinks,
      selectedRowsPerHead: layer.selectedPerHead,
      movedMass: layer.moved,
      imageAttention: { base: imageShare(base.layers[l]!.attention), [name]: imageShare(layer.attention) },
    };
  });

  const tokens = prepared.prompt.inputIds.length;
  for (const [i, panels] of prepared.images.panels.entries()) {
    const sinkPatches = new Set<number>();
    for (const layer of perLayer) if (layer.varActive) for (const s of layer.visualSinks) if (s.image === i) sinkPatches.add(s.patch);
    // The image's token k sits at prompt position positions[k].
    const positions = [...patchOf.entries()].filter(([, p]) => p.image === i).map(([t]) => t);
    for (const panel of panels) {
      const grid = { rows: panel.rows, cols: panel.cols };
      const view = panel.view as RgbImage;
      const suffix = `${stem(i)}${panel.label === undefined ? '' : `-${panel.label}`}`;
      const cells = panel.tokens.flatMap((token, cell) => (sinkPatches.has(token) ? [cell] : []));
      await save(`sinks-${suffix}.png`, markTokens(view, cells, grid, [255, 0, 0]));
      for (const l of layers) {
        for (const [label, row] of [['base', base], [name, withVar]] as const) {
          const attention = row.layers[l]!.attention;
          const values = panel.tokens.map((token) => {
            const t = positions[token] as number;
            let sum = 0;
            for (let h = 0; h < heads; h++) sum += attention[h * tokens + t] as number;
            return sum / heads;
          });
          await save(`attention-L${l}-${label}-${suffix}.png`, overlayHeatmap(view, values, grid, { alpha: 0.55, colormap: 'viridis' }));
        }
      }
    }
  }
  await save('heads.png', headMap(perLayer.map((l) => l.selectedRowsPerHead), heads));
  return { imageTokens: imagePositions.length, layers: perLayer, files };
}

/** Layer × head grid (rows = layers, top = layer 0), brighter = more selected rows. */
export function headMap(selected: readonly (readonly number[])[], heads: number, cell = 12): RgbImage {
  const layers = selected.length;
  const max = Math.max(1, ...selected.flat());
  const image = createRgbImage(heads * cell, layers * cell);
  for (let l = 0; l < layers; l++) {
    for (let h = 0; h < heads; h++) {
      const [r, g, b] = colormap('viridis', (selected[l]?.[h] ?? 0) / max);
      for (let y = l * cell; y < (l + 1) * cell; y++) {
        for (let x = h * cell; x < (h + 1) * cell; x++) {
          const o = (y * image.width + x) * 3;
          image.data[o] = r;
          image.data[o + 1] = g;
          image.data[o + 2] = b;
        }
      }
    }
  }
  return image;
}
