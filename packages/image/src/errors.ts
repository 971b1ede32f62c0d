import { VasinkError } from '@vasink/tensor';

/** Why an image could not be decoded; also its `code`. */
export type ImageDecodeErrorCode =
  | 'IMAGE_EMPTY'
  | 'IMAGE_READ_FAILED'
  | 'IMAGE_UNKNOWN_FORMAT'
  | 'IMAGE_UNSUPPORTED_FORMAT'
  | 'IMAGE_TRUNCATED'
  | 'IMAGE_CORRUPT'
  | 'IMAGE_TOO_LARGE';

/**
 * An image could not be read or decoded. `code` says why; `file` names the
 * file when the image came from a path; `details` carries the facts (byte
 * count, format, dimensions, pixel limit).
 */
export class ImageDecodeError extends VasinkError {
  override readonly code: ImageDecodeErrorCode;
  readonly file: string | undefined;

  constructor(
    code: ImageDecodeErrorCode,
    message: string,
    options: { file?: string | undefined; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    const where = options.file === undefined ? '' : `${options.file}: `;
    super(`${where}${message}`, {
      code,
      details: { ...(options.file === undefined ? {} : { file: options.file }), ...options.details },
      cause: options.cause,
      exposure: 'input',
    });
    this.code = code;
    this.file = options.file;
  }
}

declare module '@vasink/tensor' {
  /** This package's error codes (see VasinkErrorCodes). */
  interface VasinkErrorCodes {
    IMAGE_EMPTY: true;
    IMAGE_READ_FAILED: true;
    IMAGE_UNKNOWN_FORMAT: true;
    IMAGE_UNSUPPORTED_FORMAT: true;
    IMAGE_TRUNCATED: true;
    IMAGE_CORRUPT: true;
    IMAGE_TOO_LARGE: true;
  }
}
