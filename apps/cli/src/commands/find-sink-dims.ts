import { findSinkDims } from '@vasink/sink-detect';
import { createTensor } from '@vasink/tensor';
import { expandImagePaths, loadImages } from '../lib/images.js';
import { progressBar } from '../lib/progress.js';
import { UsageError, numberFlag, parseCommand } from '../lib/usage.js';
import { MODEL_FLAGS, MODEL_HELP, openModel } from './model-flags.js';

const HELP = `usage: vasink find-sink-dims --model <dir> --images <files or dir> [options]

Propose the sink dimensions D_sink of a model whose backbone has no published
profile: dims where the first token's |x_d|/RMS is massive in every layer from
the sink start layer on, for every input. Prints the proposal and its evidence.
  --images <path>       image files or a directory; repeat for several
  --prompt <text>       the question asked about each image (default: "Describe the image.")
  --threshold <n>       minimum |x_d|/RMS over all layers and inputs (default min(20, sqrt(D)/4))
  --json                machine-readable output
${MODEL_HELP}`;

export async function runFindSinkDims(args: string[]): Promise<number> {
  const parsed = parseCommand(args, { ...MODEL_FLAGS, images: { type: 'string', multiple: true }, prompt: { type: 'string' }, threshold: { type: 'string' }, json: { type: 'boolean' } }, HELP);
  if (!parsed) return 0;
  const { values } = parsed;
  const files = await expandImagePaths(values.images ?? []);
  if (files.length === 0) throw new UsageError('--images is required (see --help)');
  const threshold = numberFlag(values.threshold, 'threshold', { min: 0 });
  const model = await openModel(values, { decoder: 'diagnostic' });
  try {
    const d = model.manifest.decoder.hiddenSize;
    const hiddenStates = [];
    const bar = progressBar('find-sink-dims');
    for (const [i, file] of files.entries()) {
      const [image] = await loadImages([file]);
      const prepared = await model.prepare({ question: values.prompt ?? 'Describe the image.', images: [image!] });
      const inspection = await model.inspect(prepared, [{}]);
      hiddenStates.push(inspection.rows[0]!.layers.map((layer) => createTensor('float32', [1, 1, d], layer.firstHidden)));
      bar.update(i + 1, files.length, file);
    }
    const proposal = findSinkDims({ hiddenStates, startLayer: model.manifest.sink.startLayer, ...(threshold === undefined ? {} : { threshold }) });
    bar.finish(`${files.length} input(s)`);
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ model: model.dir, known: model.manifest.sink.dims, ...proposal }, null, 2)}\n`);
      return 0;
    }
    const lines = [
      proposal.sinkDims.length > 0
        ? `proposed sink dims: ${proposal.sinkDims.join(', ')}  (use: --sink-dims ${proposal.sinkDims.join(',')})`
        : `no dimension exceeds the threshold ${proposal.threshold.toFixed(2)} in every layer ≥ ${model.manifest.sink.startLayer} and input`,
      ...(model.manifest.sink.dims ? [`published for this backbone: ${model.manifest.sink.dims.join(', ')}`] : []),
      '',
      `| dim | min |x|/RMS | mean | per layer (mean over inputs) |`,
      '|---|---|---|---|',
      ...proposal.evidence.slice(0, 8).map((e) => `| ${e.dim} | ${e.minScore.toFixed(2)} | ${e.meanScore.toFixed(2)} | ${e.scoreByLayer.map((s) => (Number.isNaN(s) ? '–' : s.toFixed(1))).join(' ')} |`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } finally {
    await model.close();
  }
}
