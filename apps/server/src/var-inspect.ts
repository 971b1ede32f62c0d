import type { ServerResponse } from 'node:http';
import { type RgbImage, encodePng } from '@vasink/image';
import type { Inspection, PreparedRequest } from '@vasink/runtime';
import { varLayerMask } from '@vasink/var';
import { invalidRequest } from './api-error.js';
import { parseConversation } from './chat-request.js';
import { acquireSlot, checkModelName, checkQuestionLength, checkVarAvailable, prepareRequest } from './chat-completions.js';
import { sendJson } from './http-io.js';
import type { RequestScope, ServerContext } from './request-scope.js';
import { type VarEcho, parseVarField } from './var-field.js';

/** A sink token of one layer. */
export interface InspectSink {
  /** Position in the prompt. */
  position: number;
  /** The token's text for text sinks (BOS, punctuation, …); absent for image patches. */
  token?: string;
  /** For visual sinks: which image, and which of its tokens (an index into the image's `tokens` of its panels). */
  image?: number;
  patch?: number;
}

/** One layer of `POST /v1/var/inspect`. */
export interface InspectLayer {
  layer: number;
  /** Whether VAR acts on this layer with the settings used. */
  var_active: boolean;
  /** Sinks of the VAR row (prompt tokens with φ > τ). */
  sinks: InspectSink[];
  /** Rows (queries) selected as image-centric, per head. */
  selected_rows_per_head: number[];
  /** Heads with at least one selected row. */
  selected_heads: number[];
  /** Attention mass moved onto visual non-sinks, summed over heads and queries. */
  moved_mass: number;
  /** Share of the eligible queries' attention on image tokens, head-averaged, without and with VAR. */
  image_attention: { base: number; var: number };
  /** Per image, the head-averaged attention of the eligible queries on each patch (row-major), without and with VAR. */
  maps?: { image: number; base: number[]; var: number[] }[];
}

/** One picture of an image's tokens: `view` (PNG data URL) cut into `grid`; cell k shows the image's token `tokens[k]` (an index into `maps[].base/var`). */
export interface InspectPanel {
  label?: string;
  width: number;
  height: number;
  grid: { rows: number; cols: number };
  view: string;
  tokens: number[];
}

/** The body of `POST /v1/var/inspect`'s answer. */
export interface InspectResponse {
  id: string;
  object: 'var.inspection';
  created: number;
  model: string;
  var: VarEcho;
  prompt: { tokens: number; image_tokens: number; text: string };
  /** Per image, its first panel (`width`, `height`, `grid`, `view`, `tokens`) and every panel (LLaVA-NeXT: base view and tiles). */
  images: (InspectPanel & { index: number; panels: InspectPanel[] })[];
  layers: InspectLayer[];
}

const FIELDS = new Set(['model', 'messages', 'var', 'layers', 'maps']);

/**
 * `POST /v1/var/inspect`: one prefill of the prompt through the diagnostic
 * graph, without and with VAR, reporting per layer the sinks, the selected
 * heads, the moved mass and the image attention maps. Body: `{ messages,
 * var?, layers?: number[] (layers with maps; default all), maps?: boolean }`.
 */
export async function handleVarInspect(ctx: ServerContext, scope: RequestScope, body: Record<string, unknown>, res: ServerResponse): Promise<void> {
  for (const key of Object.keys(body)) {
    if (!FIELDS.has(key)) throw invalidRequest('unsupported_parameter', `Unrecognized request argument supplied: ${key}`, key);
  }
  if (body.model !== undefined && typeof body.model !== 'string') throw invalidRequest('invalid_value', 'model must be a string', 'model');
  checkModelName(ctx, body.model as string | undefined);
  const conversation = parseConversation(body.messages, { maxImages: ctx.options.limits.maxImages });
  if (conversation.images.length === 0) throw invalidRequest('invalid_value', 'inspect needs at least one image', 'messages');
  const selection = parseVarField(body.var, ctx.options.defaultVar || {});
  if (!selection.config || !selection.echo) throw invalidRequest('invalid_var', 'inspect compares without and with VAR: var must not be false', 'var');
  const numLayers = ctx.model.manifest.decoder.numLayers;
  let mapLayers: Set<number> | undefined;
  if (body.layers !== undefined && body.layers !== null) {
    if (!Array.isArray(body.layers) || !body.layers.every((l) => Number.isInteger(l) && l >= 0 && l < numLayers)) {
      throw invalidRequest('invalid_value', `layers must be a list of layer indices in [0, ${numLayers - 1}]`, 'layers');
    }
    mapLayers = new Set(body.layers as number[]);
  }
  const withMaps = body.maps !== false;
  checkVarAvailable(ctx, true);
  await checkQuestionLength(ctx, conversation);
  scope.log.var = true;

  const release = await acquireSlot(ctx, scope);
  let prepared: PreparedRequest;
  let inspection: Inspection;
  try {
    prepared = await prepareRequest(ctx, scope, conversation);
    inspection = await ctx.model.inspect(prepared, [{}, { var: selection.config }]);
    scope.throwIfAborted();
  } finally {
    release();
  }

  const active = varLayerMask(selection.config, { numLayers, sinkStartLayer: ctx.model.manifest.sink.startLayer });
  const response: InspectResponse = {
    id: scope.id,
    object: 'var.inspection',
    created: Math.floor(Date.now() / 1000),
    model: ctx.options.modelName,
    var: selection.echo,
    prompt: { tokens: prepared.prompt.inputIds.length, image_tokens: prepared.prompt.imageMask.reduce((a, m) => a + m, 0), text: prepared.prompt.text },
    images: await Promise.all(
      prepared.images.panels.map(async (panels, index) => {
        const described = await Promise.all(
          panels.map(async (panel): Promise<InspectPanel> => ({
            ...(panel.label === undefined ? {} : { label: panel.label }),
            width: panel.view.width,
            height: panel.view.height,
            grid: { rows: panel.rows, cols: panel.cols },
            view: `data:image/png;base64,${Buffer.from(await encodePng(panel.view as RgbImage)).toString('base64')}`,
            tokens: [...panel.tokens],
          })),
        );
        return { index, ...(described[0] as InspectPanel), panels: described };
      }),
    ),
    layers: layerReports({ ctx, prepared, inspection, active, mapLayers: withMaps ? mapLayers : new Set() }),
  };
  scope.log.outcome = 'stop';
  sendJson(res, 200, response, { 'x-request-id': scope.id });
}

function layerReports(input: { ctx: ServerContext; prepared: PreparedRequest; inspection: Inspection; active: Uint8Array; mapLayers: Set<number> | undefined }): InspectLayer[] {
  const { ctx, prepared, inspection, active, mapLayers } = input;
  const [base, withVar] = inspection.rows;
  if (!base || !withVar) return [];
  const heads = ctx.model.manifest.decoder.numHeads;
  const tokens = prepared.prompt.inputIds.length;
  const imagePositions: number[] = [];
  prepared.prompt.imageMask.forEach((m, t) => {
    if (m) imagePositions.push(t);
  });
  // Which image and patch each image position is.
  const patchOf = new Map<number, { image: number; patch: number }>();
  let k = 0;
  prepared.images.tokensPerImage.forEach((count, image) => {
    for (let patch = 0; patch < count; patch++) {
      const position = imagePositions[k++];
      if (position !== undefined) patchOf.set(position, { image, patch });
    }
  });
  const headMean = (attention: Float32Array, t: number) => {
    let sum = 0;
    for (let h = 0; h < heads; h++) sum += attention[h * tokens + t] ?? 0;
    return sum / heads;
  };
  const share = (attention: Float32Array) => imagePositions.reduce((sum, t) => sum + headMean(attention, t), 0);
  return withVar.layers.map((layer, l) => {
    const baseLayer = base.layers[l]!;
    const selected = [...layer.selectedPerHead];
    const report: InspectLayer = {
      layer: l,
      var_active: active[l] === 1,
      sinks: layer.sinkPositions.map((position) => {
        const patch = patchOf.get(position);
        if (patch) return { position, ...patch };
        const id = prepared.prompt.inputIds[position];
        return { position, token: (id === undefined ? undefined : ctx.model.tokenizer.idToToken(id)) ?? '' };
      }),
      selected_rows_per_head: selected,
      selected_heads: selected.flatMap((count, h) => (count > 0 ? [h] : [])),
      moved_mass: round(layer.moved),
      image_attention: { base: round(share(baseLayer.attention)), var: round(share(layer.attention)) },
    };
    if (!mapLayers || mapLayers.has(l)) {
      report.maps = prepared.images.tokensPerImage.map((_, image) => {
        const positions = [...patchOf.entries()].filter(([, p]) => p.image === image).map(([t]) => t);
        return {
          image,
          base: positions.map((t) => round(headMean(baseLayer.attention, t))),
          var: positions.map((t) => round(headMean(layer.attention, t))),
        };
      });
    }
    return report;
  });
}

/** Four significant digits keep a 576-patch map per layer small. */
function round(value: number): number {
  return Number.isFinite(value) ? Number(value.toPrecision(4)) : 0;
}
