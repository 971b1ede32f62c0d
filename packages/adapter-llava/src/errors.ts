import { VasinkError } from '@vasink/tensor';

/** A config field is absent where it has no default, or holds a value LLaVA cannot use. */
export class LlavaConfigError extends VasinkError {
  constructor(message: string, details: { file: string; field?: string; [key: string]: unknown }) {
    super(message, { code: 'LLAVA_CONFIG', details, exposure: 'input' });
  }
}

/** The checkpoint is not a LLaVA-1.5 this adapter converts (architecture, text backbone, projector type, file format). */
export class UnsupportedCheckpointError extends VasinkError {
  constructor(message: string, details: Record<string, unknown>) {
    super(message, { code: 'UNSUPPORTED_CHECKPOINT', details, exposure: 'input' });
  }
}

/** An original-layout LLaVA release whose CLIP vision tower was not given (and is not inside the checkpoint). */
export class MissingVisionTowerError extends VasinkError {
  constructor(message: string, details: Record<string, unknown>) {
    super(message, { code: 'MISSING_VISION_TOWER', details, exposure: 'input' });
  }
}

/** A prompt that cannot be built: image placeholders and images disagree, or the tokenizer lacks what the format needs. */
export class LlavaPromptError extends VasinkError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message, { code: 'LLAVA_PROMPT', details, exposure: 'input' });
  }
}

declare module '@vasink/tensor' {
  /** This package's error codes (see VasinkErrorCodes). */
  interface VasinkErrorCodes {
    LLAVA_CONFIG: true;
    UNSUPPORTED_CHECKPOINT: true;
    MISSING_VISION_TOWER: true;
    LLAVA_PROMPT: true;
  }
}
