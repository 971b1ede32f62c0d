import { createRgbImage, resizeBicubic, type RgbImage } from '@vasink/image';
import { InvalidArgumentError } from '@vasink/tensor';
import type { LlavaAnyres } from './llava-config.js';

/** What the anyres math needs: the tower's square input, its patch, the pinpoints. */
export interface AnyresSettings extends LlavaAnyres {
  /** Side of the tower's square input (a tile), pixels. */
  readonly imageSize: number;
  readonly patchSize: number;
}

/** How one image of `width × height` pixels becomes LLaVA-NeXT tiles and tokens. */
export interface AnyresLayout {
  readonly width: number;
  readonly height: number;
  /** The chosen pinpoint `[height, width]`. */
  readonly bestResolution: readonly [number, number];
  /** The image resized to fit the pinpoint, aspect kept: `[height, width]`. */
  readonly resized: readonly [number, number];
  /** Black borders centring it in the pinpoint (the odd pixel goes to the bottom / right). */
  readonly padding: { readonly top: number; readonly bottom: number; readonly left: number; readonly right: number };
  /** Tiles of the pinpoint: rows × cols, each a tower-sized square. */
  readonly tileRows: number;
  readonly tileCols: number;
  /** Tower inputs: the base view, then the tiles row by row. */
  readonly tiles: number;
  /** Patches per tile side. */
  readonly grid: number;
  /** The tile features' grid after unpadding (before the newline column): rows × cols tokens, starting at `[top, left]` of the full tile grid. */
  readonly unpadded: { readonly rows: number; readonly cols: number; readonly top: number; readonly left: number };
  /** Image tokens: grid² (base) + rows · (cols + 1). */
  readonly tokens: number;
}

/** Python's `round(x, 7)` then `int()`, as transformers computes the unpadded size (x ≥ 0). */
function roundedInt(x: number): number {
  return Math.trunc(Math.round(x * 1e7) / 1e7);
}

/**
 * transformers' `select_best_resolution`: the pinpoint keeping the most of the
 * image's pixels when it is scaled to fit (downscaled sizes truncated), ties
 * going to the one wasting the fewest; the first wins among equals.
 */
export function selectBestResolution(height: number, width: number, pinpoints: readonly (readonly [number, number])[]): readonly [number, number] {
  let best: readonly [number, number] | undefined;
  let maxEffective = 0;
  let minWasted = Infinity;
  for (const pinpoint of pinpoints) {
    const [h, w] = pinpoint;
    const scale = Math.min(w / width, h / height);
    const effective = Math.min(Math.trunc(width * scale) * Math.trunc(height * scale), width * height);
    const wasted = w * h - effective;
    if (effective > maxEffective || (effective === maxEffective && wasted < minWasted)) {
      maxEffective = effective;
      minWasted = wasted;
      best = pinpoint;
    }
  }
  if (!best) throw new InvalidArgumentError('no pinpoint fits the image (image_grid_pinpoints is empty)', { height, width });
  return best;
}

/** transformers' `get_patch_output_size`: the size `[height, width]` fitting `target` with the aspect kept (the fitted side rounded up). */
export function patchOutputSize(height: number, width: number, target: readonly [number, number]): readonly [number, number] {
  const [targetHeight, targetWidth] = target;
  const scaleW = targetWidth / width;
  const scaleH = targetHeight / height;
  return scaleW < scaleH
    ? [Math.min(Math.ceil(height * scaleW), targetHeight), targetWidth]
    : [targetHeight, Math.min(Math.ceil(width * scaleH), targetWidth)];
}

/**
 * The anyres layout of a `width × height` image: best pinpoint, resize,
 * centring pads, tiles, and the unpadded feature grid and token count of
 * `LlavaNextProcessor._get_number_of_features` (select strategy `default`).
 */
export function anyresLayout(width: number, height: number, settings: AnyresSettings): AnyresLayout {
  const { imageSize: size, patchSize } = settings;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new InvalidArgumentError(`image size must be positive integers, got ${width}x${height}`, { width, height });
  }
  const bestResolution = selectBestResolution(height, width, settings.pinpoints);
  const [bestHeight, bestWidth] = bestResolution;
  const resized = patchOutputSize(height, width, bestResolution);
  const [top, bottomExtra] = [Math.floor((bestHeight - resized[0]) / 2), (bestHeight - resized[0]) % 2];
  const [left, rightExtra] = [Math.floor((bestWidth - resized[1]) / 2), (bestWidth - resized[1]) % 2];
  const grid = size / patchSize;
  const tileRows = bestHeight / size;
  const tileCols = bestWidth / size;
  let rows = grid * tileRows;
  let cols = grid * tileCols;
  let unpadTop = 0;
  let unpadLeft = 0;
  if (width / height > cols / rows) {
    const newHeight = roundedInt(height * (cols / width));
    unpadTop = Math.floor((rows - newHeight) / 2);
    rows -= 2 * unpadTop;
  } else {
    const newWidth = roundedInt(width * (rows / height));
    unpadLeft = Math.floor((cols - newWidth) / 2);
    cols -= 2 * unpadLeft;
  }
  return {
    width,
    height,
    bestResolution,
    resized,
    padding: { top, bottom: top + bottomExtra, left, right: left + rightExtra },
    tileRows,
    tileCols,
    tiles: 1 + tileRows * tileCols,
    grid,
    unpadded: { rows, cols, top: unpadTop, left: unpadLeft },
    tokens: grid * grid + rows * (cols + 1),
  };
}

/**
 * Where each image token's feature comes from, as `pack_image_features`
 * orders them: the base view's patches, then the unpadded tile grid row by
 * row, each row closed by `image_newline`. Values index the tile features
 * `[(firstTile + tile) · grid² + patch]` (tile 0 = the base view), and
 * `newline` stands for `image_newline`.
 */
export function anyresFeatureOrder(layout: AnyresLayout, firstTile: number, newline: number): number[] {
  const { grid, tileCols, unpadded } = layout;
  const perTile = grid * grid;
  const order: number[] = [];
  for (let p = 0; p < perTile; p++) order.push(firstTile * perTile + p);
  for (let r = unpadded.top; r < unpadded.top + unpadded.rows; r++) {
    for (let c = unpadded.left; c < unpadded.left + unpadded.cols; c++) {
      const tile = 1 + Math.floor(r / grid) * tileCols + Math.floor(c / grid);
      order.push((firstTile + tile) * perTile + (r % grid) * grid + (c % grid));
    }
    order.push(newline);
  }
  return order;
}

/**
 * The tower inputs of one image before normalisation, as
 * `LlavaNextImageProcessor.get_image_patches` makes them: the image resized
 * straight to the tower's square (bicubic), then the image resized into its
 * pinpoint (bicubic, aspect kept), centred on black and cut into tiles row by
 * row. Also the resized image itself (the picture the tile tokens cover).
 */
export function anyresTiles(image: RgbImage, layout: AnyresLayout, size: number): { tiles: RgbImage[]; resized: RgbImage } {
  const [bestHeight, bestWidth] = layout.bestResolution;
  const base = resizeBicubic(image, size, size);
  const resized = resizeBicubic(image, layout.resized[1], layout.resized[0]);
  const canvas = createRgbImage(bestWidth, bestHeight);
  const rowBytes = resized.width * 3;
  for (let y = 0; y < resized.height; y++) {
    canvas.data.set(resized.data.subarray(y * rowBytes, (y + 1) * rowBytes), ((y + layout.padding.top) * bestWidth + layout.padding.left) * 3);
  }
  const tiles = [base];
  for (let ty = 0; ty < layout.tileRows; ty++) {
    for (let tx = 0; tx < layout.tileCols; tx++) {
      const tile = createRgbImage(size, size);
      for (let y = 0; y < size; y++) {
        const from = ((ty * size + y) * bestWidth + tx * size) * 3;
        tile.data.set(canvas.data.subarray(from, from + size * 3), y * size * 3);
      }
      tiles.push(tile);
    }
  }
  return { tiles, resized };
}
