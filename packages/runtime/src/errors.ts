import { VasinkError } from '@vasink/tensor';

/** A file the runtime needs is not where it was looked for. */
export class MissingFileError extends VasinkError {
  constructor(message: string, details: { path: string } & Record<string, unknown>) {
    super(message, { code: 'FILE_NOT_FOUND', details, exposure: 'input' });
  }
}

/** An onnxruntime session could not be created. */
export class SessionCreateError extends VasinkError {
  constructor(message: string, options: { details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, { code: 'SESSION_CREATE_FAILED', exposure: 'config', ...options });
  }
}

/** A tokenizer file is unreadable or inconsistent. */
export class TokenizerError extends VasinkError {
  constructor(message: string, options: { details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, { code: 'TOKENIZER_ERROR', exposure: 'config', ...options });
  }
}

/** No chat template is available, or rendering it failed. */
export class ChatTemplateError extends VasinkError {
  constructor(message: string, options: { details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, { code: 'CHAT_TEMPLATE_ERROR', exposure: 'config', ...options });
  }
}

/** The decoder step broke the generation contract (row count, logits), or logits are unusable. */
export class GenerationError extends VasinkError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message, { code: 'GENERATION_ERROR', details });
  }
}

/** A weight does not fit the requested float16 range. */
export class Float16RangeError extends VasinkError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message, { code: 'FLOAT16_OUT_OF_RANGE', details, exposure: 'input' });
  }
}

declare module '@vasink/tensor' {
  /** This package's error codes (see VasinkErrorCodes). */
  interface VasinkErrorCodes {
    FILE_NOT_FOUND: true;
    SESSION_CREATE_FAILED: true;
    TOKENIZER_ERROR: true;
    CHAT_TEMPLATE_ERROR: true;
    GENERATION_ERROR: true;
    FLOAT16_OUT_OF_RANGE: true;
    NOT_A_MODEL_DIRECTORY: true;
    INSUFFICIENT_MEMORY: true;
    SCHEDULER_CLOSED: true;
    VAR_UNAVAILABLE: true;
    BAD_DECODER_GRAPH: true;
    BAD_DIAGNOSTIC_GRAPH: true;
    BAD_VISION_GRAPH: true;
    IMAGE_TOKEN_MISMATCH: true;
  }
}
