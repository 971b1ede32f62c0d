import { realpath } from 'node:fs/promises';
import { sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RgbImage, decodeImage, readRegularFile } from '@vasink/image';
import { invalidRequest, toApiError } from './api-error.js';

/** An image a request refers to, not yet decoded. */
export type ImageSource =
  | { kind: 'data'; mediaType: string; bytes: Buffer; param: string }
  | { kind: 'file'; url: string; param: string };

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/**
 * Read an `image_url`: a base64 data URL (`data:image/png;base64,…`) or a
 * `file://` URL (allowed later only under the operator's image directory).
 * Remote URLs are refused: the server never fetches from the network.
 */
export function parseImageUrl(url: string, param: string): ImageSource {
  if (url.startsWith('data:')) {
    const comma = url.indexOf(',');
    if (comma < 0) throw invalidRequest('invalid_image_url', 'the data URL has no comma before its data', param);
    const header = url.slice(5, comma).split(';');
    const mediaType = (header[0] ?? '').toLowerCase();
    if (!header.slice(1).includes('base64')) throw invalidRequest('invalid_image_url', 'data URLs must be base64 (data:image/png;base64,…)', param);
    if (mediaType !== '' && !mediaType.startsWith('image/')) throw invalidRequest('invalid_image_url', `data URL media type ${mediaType} is not an image`, param);
    const data = url.slice(comma + 1).replace(/\s+/g, '');
    if (!BASE64.test(data)) throw invalidRequest('invalid_image', 'the data URL is not valid base64', param);
    const bytes = Buffer.from(data, 'base64');
    if (bytes.length === 0) throw invalidRequest('invalid_image', 'the image is 0 bytes', param);
    return { kind: 'data', mediaType, bytes, param };
  }
  if (url.startsWith('file:')) return { kind: 'file', url, param };
  if (/^https?:/i.test(url)) {
    throw invalidRequest('unsupported_image_url', 'this server does not fetch images from the network; send the image as a base64 data URL', param);
  }
  throw invalidRequest('invalid_image_url', 'image_url.url must be a data URL (or a file:// URL where the server allows it)', param);
}

/**
 * Decode the images of a request, refusing any over `maxPixels` before its
 * pixels are decoded. File URLs resolve (symlinks included) and must lie
 * under `imageDir`; without one they are refused.
 */
export async function loadImages(
  sources: readonly ImageSource[],
  options: { maxPixels: number; imageDir: string | undefined; maxFileBytes: number },
): Promise<RgbImage[]> {
  const images: RgbImage[] = [];
  for (const source of sources) {
    const bytes = source.kind === 'data' ? source.bytes : await readAllowedFile(source, options.imageDir, options.maxFileBytes);
    try {
      images.push(await decodeImage(bytes, { maxPixels: options.maxPixels }));
    } catch (error) {
      const apiError = toApiError(error);
      if (apiError.status !== 400) throw error;
      // One code for every image that does not decode, one for an image over the pixel limit.
      const code = apiError.code === 'image_too_large' ? 'image_too_large' : 'invalid_image';
      throw invalidRequest(code, `${source.param}: ${code === 'invalid_image' ? 'the image could not be decoded: ' : ''}${apiError.message}`, source.param);
    }
  }
  return images;
}

async function readAllowedFile(source: { url: string; param: string }, imageDir: string | undefined, maxBytes: number): Promise<Buffer> {
  if (!imageDir) {
    throw invalidRequest('image_url_not_allowed', 'file:// image URLs are disabled on this server; send a base64 data URL', source.param);
  }
  let path: string;
  try {
    path = fileURLToPath(source.url);
  } catch {
    throw invalidRequest('invalid_image_url', `not a valid file URL: ${source.url}`, source.param);
  }
  // One answer for every path refused — missing, outside the directory, not a regular file, unreadable — so
  // that the answers do not tell which files exist outside it.
  const refused = () => invalidRequest('image_not_found', `no readable image file at ${source.url} inside the server's image directory`, source.param);
  let real: string;
  let root: string;
  try {
    root = await realpath(imageDir);
    real = await realpath(path);
  } catch {
    throw refused();
  }
  if (!real.startsWith(root.endsWith(sep) ? root : root + sep)) throw refused();
  try {
    // Non-blocking and checked on the open descriptor: a FIFO never holds the request.
    return await readRegularFile(real, maxBytes);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ETOOBIG') throw invalidRequest('image_too_large', `the image file is over the limit of ${maxBytes} bytes`, source.param);
    throw refused();
  }
}
