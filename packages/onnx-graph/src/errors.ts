import { VasinkError } from '@vasink/tensor';

/** Bytes that are not a well-formed protobuf encoding of the expected ONNX message. */
export class ProtobufDecodeError extends VasinkError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message, { code: 'PROTOBUF_DECODE', details, exposure: 'config' });
  }
}

/** A model breaks one or more structural rules; `details.problems` lists them all. */
export class InvalidModelError extends VasinkError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message, { code: 'INVALID_MODEL', details, exposure: 'config' });
  }
}

/** Reading or writing an external weight file failed, or a reference into one is unusable. */
export class ExternalDataError extends VasinkError {
  constructor(message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(message, { code: 'EXTERNAL_DATA', details, cause, exposure: 'config' });
  }
}

declare module '@vasink/tensor' {
  /** This package's error codes (see VasinkErrorCodes). */
  interface VasinkErrorCodes {
    PROTOBUF_DECODE: true;
    INVALID_MODEL: true;
    EXTERNAL_DATA: true;
  }
}
