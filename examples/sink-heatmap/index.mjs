// A custom pipeline from the packages, no CLI: write a tiny LLaVA checkpoint,
// convert it, ask one question about an image, read the sinks and the heads VAR
// selects per layer, and write the attention heatmap of one layer, base vs VAR.
//
//   node index.mjs [--out <dir>] [--model <converted dir>] [--image <file>] [--check]
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { llavaFamily, writeTinyLlavaCheckpoint } from '@vasink/adapter-llava';
import { createRgbImage, decodeImage, encodePng, markTokens, overlayHeatmap } from '@vasink/image';
import { VisionLanguageModel } from '@vasink/runtime';
import { resolveVarConfig } from '@vasink/var';

const { values } = parseArgs({ options: { out: { type: 'string' }, model: { type: 'string' }, image: { type: 'string' }, check: { type: 'boolean' } } });
const work = await mkdtemp(join(tmpdir(), 'vasink-example-'));
const out = values.out ?? join(work, 'out');
await mkdir(out, { recursive: true });

// 1. A model: the one given, or a tiny checkpoint converted here.
let modelDir = values.model;
if (!modelDir) {
  await writeTinyLlavaCheckpoint(join(work, 'hf'), { size: 'tiny' });
  modelDir = join(work, 'model');
  await llavaFamily.convert({ source: join(work, 'hf'), target: modelDir, dtype: 'float32' });
}
// Only inspections here: open the diagnostic decoder alone (one copy of the weights).
const model = await VisionLanguageModel.load(modelDir, { families: [llavaFamily], device: 'cpu', decoder: 'diagnostic' });

// 2. An image: the one given, or a synthetic one (a bright square on a gradient).
const image = values.image ? await decodeImage(values.image) : synthetic(320, 240);

// 3. One prefill, without and with VAR, through the diagnostic graph.
const varConfig = resolveVarConfig({ preset: 'hallucination' });
const prepared = await model.prepare({ question: 'What is in the picture?', images: [image] });
const inspection = await model.inspect(prepared, [{}, { var: varConfig }]);
const [base, withVar] = inspection.rows;
const positions = [...prepared.prompt.imageMask.entries()].filter(([, m]) => m).map(([t]) => t);
const firstImage = positions[0];
const panel = prepared.images.panels[0][0];
const grid = { rows: panel.rows, cols: panel.cols };
const tokens = prepared.prompt.inputIds.length;
const heads = model.manifest.decoder.numHeads;

console.log(`prompt: ${tokens} tokens, ${positions.length} image tokens (first picture ${grid.rows}×${grid.cols})`);
console.log('| layer | sinks | image patches that are sinks | selected rows per head | moved |');
console.log('|---|---|---|---|---|');
withVar.layers.forEach((layer, l) => {
  const patches = layer.sinkPositions.filter((t) => prepared.prompt.imageMask[t]).map((t) => t - firstImage);
  console.log(`| ${l} | ${layer.sinkPositions.length} | ${patches.join(' ') || '–'} | ${layer.selectedPerHead.join(' ')} | ${layer.moved.toFixed(3)} |`);
});

// 4. Pictures: the visual sinks, and layer 2's attention over the image, base vs VAR.
const layer = Math.min(2, withVar.layers.length - 1);
// The panel's cell k shows the image's token panel.tokens[k].
const perPatch = (row) => panel.tokens.map((k) => positions[k]).map((t) => {
  let sum = 0;
  for (let h = 0; h < heads; h++) sum += row.layers[layer].attention[h * tokens + t];
  return sum / heads;
});
const view = panel.view;
const sinkPatches = withVar.layers[layer].sinkPositions
  .filter((t) => prepared.prompt.imageMask[t])
  .map((t) => panel.tokens.indexOf(t - firstImage))
  .filter((cell) => cell >= 0);
await writeFile(join(out, 'sinks.png'), await encodePng(markTokens(view, sinkPatches, grid, [255, 0, 0])));
await writeFile(join(out, `attention-L${layer}-base.png`), await encodePng(overlayHeatmap(view, perPatch(base), grid, { alpha: 0.55 })));
await writeFile(join(out, `attention-L${layer}-var.png`), await encodePng(overlayHeatmap(view, perPatch(withVar), grid, { alpha: 0.55 })));
const share = (row) => perPatch(row).reduce((a, b) => a + b, 0);
console.log(`layer ${layer}: attention on the image ${share(base).toFixed(3)} (base) → ${share(withVar).toFixed(3)} (VAR); pictures in ${out}`);
await model.close();

if (values.check) {
  // The example doubles as a check in CI: VAR must have found sinks and moved attention.
  const moved = withVar.layers.reduce((a, l) => a + l.moved, 0);
  if (sinkPatches.length === 0 || moved <= 0 || base.layers.some((l) => l.moved !== 0)) {
    console.error('check failed: expected visual sinks, moved attention with VAR and none without');
    process.exit(1);
  }
  console.log('check passed');
}

function synthetic(width, height) {
  const img = createRgbImage(width, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      const inSquare = x > width / 3 && x < (2 * width) / 3 && y > height / 3 && y < (2 * height) / 3;
      img.data[o] = inSquare ? 250 : (x * 255) / width;
      img.data[o + 1] = inSquare ? 250 : (y * 255) / height;
      img.data[o + 2] = inSquare ? 250 : 120;
    }
  }
  return img;
}
