import { VasinkError } from '@vasink/tensor';

/** A checkpoint file (config.json, preprocessor_config.json, ...) lacks a field or holds an unusable value. */
export class Qwen2VlConfigError extends VasinkError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message, { code: 'QWEN2_VL_CONFIG', details, exposure: 'input' });
  }
}

/** The checkpoint is not a Qwen2-VL model (e.g. Qwen2.5-VL, LLaVA). */
export class UnsupportedArchitectureError extends VasinkError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message, { code: 'UNSUPPORTED_ARCHITECTURE', details, exposure: 'input' });
  }
}

/** A weight does not fit the requested float16 range (checked by the shared conversion pipeline). */
export { Float16RangeError } from '@vasink/runtime';

/** Prompt and images do not agree (image placeholders vs images given, ...). */
export class Qwen2VlPromptError extends VasinkError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message, { code: 'QWEN2_VL_PROMPT', details, exposure: 'input' });
  }
}

declare module '@vasink/tensor' {
  /** This package's error codes (see VasinkErrorCodes). */
  interface VasinkErrorCodes {
    QWEN2_VL_CONFIG: true;
    UNSUPPORTED_ARCHITECTURE: true;
    QWEN2_VL_PROMPT: true;
  }
}
