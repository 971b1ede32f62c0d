/** Progress of a run, emitted after every item. */
export interface ProgressEvent {
  /** Items finished (all rows answered), including those found done on resume. */
  readonly done: number;
  readonly total: number;
  /** Items that were already done when this process started. */
  readonly resumed: number;
  /** Items finished per second in this process (0 until the first one). */
  readonly rate: number;
  /** Seconds to go at the current rate; undefined until there is a rate. */
  readonly etaSeconds: number | undefined;
  readonly elapsedSeconds: number;
}

/** Tracks rate and ETA over the items answered by this process. */
export class ProgressTracker {
  readonly #total: number;
  readonly #resumed: number;
  readonly #start: number;
  readonly #now: () => number;
  #done: number;

  constructor(options: { total: number; resumed: number; now?: () => number }) {
    this.#total = options.total;
    this.#resumed = options.resumed;
    this.#done = options.resumed;
    this.#now = options.now ?? (() => performance.now());
    this.#start = this.#now();
  }

  /** Count one more finished item and return the new state. */
  tick(): ProgressEvent {
    this.#done += 1;
    return this.snapshot();
  }

  snapshot(): ProgressEvent {
    const elapsedSeconds = (this.#now() - this.#start) / 1000;
    const fresh = this.#done - this.#resumed;
    const rate = fresh > 0 && elapsedSeconds > 0 ? fresh / elapsedSeconds : 0;
    const etaSeconds = rate > 0 ? (this.#total - this.#done) / rate : undefined;
    return { done: this.#done, total: this.#total, resumed: this.#resumed, rate, etaSeconds, elapsedSeconds };
  }
}

/** `1h02m`, `3m05s`, `42s`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m${String(rest).padStart(2, '0')}s`;
  return `${rest}s`;
}

/** One line: `[########------------] 120/500  24.0%  3.21 it/s  ETA 1m58s`. */
export function renderProgressBar(event: ProgressEvent, width = 24): string {
  const fraction = event.total === 0 ? 1 : event.done / event.total;
  const filled = Math.round(fraction * width);
  const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
  const rate = event.rate > 0 ? `${event.rate.toFixed(2)} it/s` : '-- it/s';
  const eta = event.etaSeconds === undefined ? 'ETA --' : `ETA ${formatDuration(event.etaSeconds)}`;
  const resumed = event.resumed > 0 ? `  (${event.resumed} resumed)` : '';
  return `[${bar}] ${event.done}/${event.total}  ${(fraction * 100).toFixed(1)}%  ${rate}  ${eta}${resumed}`;
}

/**
 * A progress callback for a terminal: redraws one line on a TTY, and on other
 * streams (logs, CI) prints a line at most every `intervalSeconds`.
 */
export function createProgressPrinter(
  stream: { write(text: string): unknown; isTTY?: boolean },
  options: { intervalSeconds?: number } = {},
): (event: ProgressEvent) => void {
  const interval = options.intervalSeconds ?? 30;
  let lastPrinted = -Infinity;
  return (event) => {
    const finished = event.done === event.total;
    if (stream.isTTY) {
      stream.write(`\r${renderProgressBar(event)}\u001b[K${finished ? '\n' : ''}`);
    } else if (finished || event.elapsedSeconds - lastPrinted >= interval) {
      lastPrinted = event.elapsedSeconds;
      stream.write(`${renderProgressBar(event)}\n`);
    }
  };
}
