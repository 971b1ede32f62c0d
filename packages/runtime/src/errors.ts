import { VasinkError } from '@vasink/tensor';

/** A file the runtime needs is not where it was looked for. */
export class MissingFileError extends VasinkError {
  constructor(message: string, details: { path: string } & Record<string, unknown>) {
    super(message, { code: 'FILE_NOT_FOUND', details });
  }
}

/** An onnxruntime session could not be created. */
export class SessionCreateError extends VasinkError {
  constructor(message: string, options: { details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, { code: 'SESSION_CREATE_FAILED', ...options });
  }
}

/** A tokenizer file is unreadable or inconsistent. */
export class TokenizerError extends VasinkError {
  constructor(message: string, options: { details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, { code: 'TOKENIZER_ERROR', ...options });
  }
}

/** No chat template is available, or rendering it failed. */
export class ChatTemplateError extends VasinkError {
  constructor(message: string, options: { details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, { code: 'CHAT_TEMPLATE_ERROR', ...options });
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
    super(message, { code: 'FLOAT16_OUT_OF_RANGE', details });
  }
}
