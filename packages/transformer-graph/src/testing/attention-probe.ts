import { type Float32Tensor, createTensor } from '@vasink/tensor';
import type { AnyIntervention, InterventionGraphContext, InterventionLayerGraph, InterventionLayerReference, InterventionStep } from '../intervention.js';

/** Output name of the probe: `[batch, heads]` image attention mass of each row's last query in `layer`. */
export const probeImageMass = (layer: number) => `probe_image_mass.${layer}`;

/**
 * A read-only intervention for tests: after each softmax (after every
 * intervention listed before it) it outputs the attention mass the last new
 * token puts on image keys, per row and head, whatever the rows' settings.
 * List it last to see what the methods before it did. It has no settings, so
 * it is no registered intervention: typed as any one for the lists it joins.
 */
export const attentionProbe = {
  name: 'attentionProbe',
  label: 'attention probe',
  inputNames: [],
  validate() {},
  emit({ g, config, imageMask }: InterventionGraphContext) {
    const image = g.unsqueeze(g.cast(imageMask, 'float32'), [1, 2]);
    return {
      afterSoftmax(probs: Parameters<typeof g.slice>[0], { layer }: InterventionLayerGraph) {
        const last = g.slice(probs, [-1], [Infinity], [2]);
        const mass = g.reduceSum(g.mul(last, image), [2, 3], false);
        g.output(mass, { name: probeImageMass(layer), dtype: 'float32', dims: ['batch', config.numHeads] });
        return probs;
      },
    };
  },
  feeds: () => ({}),
  reference(step: InterventionStep) {
    const outputs: Record<string, Float32Tensor> = {};
    return {
      afterSoftmax(probs: Float32Tensor, { layer }: InterventionLayerReference) {
        const [batch, heads, queries, total] = probs.dims as [number, number, number, number];
        const mass = new Float32Array(batch * heads);
        for (let b = 0; b < batch; b++) {
          for (let h = 0; h < heads; h++) {
            const row = ((b * heads + h) * queries + queries - 1) * total;
            let sum = 0;
            for (let t = 0; t < total; t++) if (step.imageMask[b * total + t]) sum += probs.data[row + t] as number;
            mass[b * heads + h] = sum;
          }
        }
        outputs[probeImageMass(layer)] = createTensor('float32', [batch, heads], mass);
        return probs;
      },
      outputs: () => outputs,
    };
  },
} as unknown as AnyIntervention;
