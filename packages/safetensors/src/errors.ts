import { VasinkError } from '@vasink/tensor';

/**
 * Why a safetensors operation failed. Stable identifiers: `SafetensorsError.code`
 * is `SAFETENSORS_` followed by the reason in upper snake case.
 */
export type SafetensorsErrorReason =
  // the file and its header
  | 'file-too-small'
  | 'header-too-large'
  | 'header-beyond-file'
  | 'header-not-utf8'
  | 'header-not-json'
  | 'header-not-object'
  | 'invalid-metadata'
  // one tensor entry of the header
  | 'invalid-entry'
  | 'unknown-dtype'
  | 'invalid-shape'
  | 'invalid-offsets'
  | 'size-mismatch'
  // the layout of the data section
  | 'overlapping-tensors'
  | 'gap-between-tensors'
  | 'truncated'
  | 'trailing-bytes'
  // reading
  | 'tensor-not-found'
  | 'unsupported-dtype'
  | 'value-out-of-range'
  | 'closed'
  // sharded checkpoints
  | 'checkpoint-not-found'
  | 'invalid-index'
  | 'missing-shard'
  | 'tensor-missing-from-shard'
  | 'tensor-in-two-shards'
  // writing
  | 'invalid-tensor'
  | 'duplicate-tensor'
  | 'incomplete-write';

/** Structured facts behind a SafetensorsError. */
export interface SafetensorsErrorDetails {
  /** The file concerned (as given, not resolved through symlinks). */
  file: string;
  /** The tensor concerned, when there is one. */
  tensor?: string;
  [key: string]: unknown;
}

/**
 * A safetensors file, checkpoint directory or write request that cannot be
 * used. The message names the file and, where one is concerned, the tensor.
 */
export class SafetensorsError extends VasinkError {
  readonly reason: SafetensorsErrorReason;
  declare readonly details: Readonly<SafetensorsErrorDetails>;

  constructor(reason: SafetensorsErrorReason, message: string, details: SafetensorsErrorDetails, cause?: unknown) {
    super(message, { code: `SAFETENSORS_${reason.toUpperCase().replaceAll('-', '_')}`, details: { ...details, reason }, cause, exposure: 'input' });
    this.reason = reason;
  }
}

/** `file: tensor "name": message` — the prefix every message about a tensor carries. */
export function tensorError(
  reason: SafetensorsErrorReason,
  file: string,
  tensor: string,
  message: string,
  extra: Record<string, unknown> = {},
): SafetensorsError {
  return new SafetensorsError(reason, `${file}: tensor ${JSON.stringify(tensor)}: ${message}`, { ...extra, file, tensor });
}

/** `file: message` — for problems of the file as a whole. */
export function fileError(
  reason: SafetensorsErrorReason,
  file: string,
  message: string,
  extra: Record<string, unknown> = {},
  cause?: unknown,
): SafetensorsError {
  return new SafetensorsError(reason, `${file}: ${message}`, { ...extra, file }, cause);
}

declare module '@vasink/tensor' {
  /** This package's error codes: `SAFETENSORS_` and the reason in upper case (see VasinkErrorCodes). */
  interface VasinkErrorCodes {
    [code: `SAFETENSORS_${string}`]: true;
  }
}
