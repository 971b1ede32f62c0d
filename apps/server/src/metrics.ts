/** Label values of one series, e.g. `{ endpoint: '/v1/models', status: '200' }`. */
export type Labels = Readonly<Record<string, string>>;

const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

function labelKey(labels: Labels): string {
  const names = Object.keys(labels).sort();
  return names.map((name) => `${name}="${escapeLabel(labels[name] ?? '')}"`).join(',');
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatNumber(value: number): string {
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return Number.isInteger(value) ? String(value) : value.toPrecision(6).replace(/\.?0+$/, '');
}

function series(name: string, key: string, value: number): string {
  return `${name}${key ? `{${key}}` : ''} ${formatNumber(value)}`;
}

interface Metric {
  readonly name: string;
  render(): string[];
}

/** A monotonically increasing count per label set. */
export class Counter implements Metric {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    const key = labelKey(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }

  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    if (this.values.size === 0) lines.push(series(this.name, '', 0));
    for (const [key, value] of this.values) lines.push(series(this.name, key, value));
    return lines;
  }
}

/** A value read when the metrics are scraped. */
export class Gauge implements Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => number,
  ) {}

  render(): string[] {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`, series(this.name, '', this.read())];
  }
}

/** Cumulative histogram buckets, sum and count per label set. */
export class Histogram implements Metric {
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[] = SECONDS_BUCKETS,
  ) {}

  observe(value: number, labels: Labels = {}): void {
    const key = labelKey(labels);
    let entry = this.series.get(key);
    if (!entry) {
      entry = { counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.series.set(key, entry);
    }
    for (const [i, bound] of this.buckets.entries()) if (value <= bound) entry.counts[i]!++;
    entry.sum += value;
    entry.count++;
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const [key, entry] of this.series) {
      const withLe = (le: string) => (key ? `${key},le="${le}"` : `le="${le}"`);
      for (const [i, bound] of this.buckets.entries()) lines.push(series(`${this.name}_bucket`, withLe(formatNumber(bound)), entry.counts[i]!));
      lines.push(series(`${this.name}_bucket`, withLe('+Inf'), entry.count));
      lines.push(series(`${this.name}_sum`, key, entry.sum));
      lines.push(series(`${this.name}_count`, key, entry.count));
    }
    return lines;
  }
}

/** Tokens generated over the last `windowMs`, for a tokens/s gauge. */
export class TokenRate {
  private readonly marks: { at: number; tokens: number }[] = [];
  private readonly startedAt: number;
  constructor(
    private readonly windowMs = 10_000,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.startedAt = now();
  }

  add(tokens: number): void {
    this.marks.push({ at: this.now(), tokens });
    this.prune();
  }

  /** Tokens per second over the window (or since start, when younger). */
  perSecond(): number {
    this.prune();
    const span = Math.min(this.windowMs, Math.max(1, this.now() - this.startedAt));
    return (this.marks.reduce((sum, mark) => sum + mark.tokens, 0) * 1000) / span;
  }

  private prune(): void {
    const horizon = this.now() - this.windowMs;
    while (this.marks.length > 0 && this.marks[0]!.at < horizon) this.marks.shift();
  }
}

/** The server's metrics, rendered in Prometheus' text format (0.0.4) at `/metrics`. */
export class ServerMetrics {
  readonly requests = new Counter('vasink_requests_total', 'HTTP requests answered, by endpoint and status code.');
  readonly queueRejections = new Counter('vasink_queue_rejections_total', 'Requests refused with 429 because the queue was full.');
  readonly disconnects = new Counter('vasink_client_disconnects_total', 'Requests whose client went away before the answer ended (generation stopped).');
  readonly timeouts = new Counter('vasink_request_timeouts_total', 'Requests stopped by the per-request timeout.');
  readonly promptTokens = new Counter('vasink_prompt_tokens_total', 'Prompt tokens of answered requests (image tokens included).');
  readonly completionTokens = new Counter('vasink_completion_tokens_total', 'Tokens generated.');
  readonly requestDuration = new Histogram('vasink_request_duration_seconds', 'Time from arrival to the end of the response, by endpoint.');
  readonly queueWait = new Histogram('vasink_queue_wait_seconds', 'Time a request waited for a slot.');
  readonly timeToFirstToken = new Histogram('vasink_time_to_first_token_seconds', 'Time from arrival to the first generated token.');
  readonly tokenRate = new TokenRate();
  private readonly metrics: Metric[];

  constructor(state: {
    queueDepth: () => number;
    active: () => number;
    concurrency: () => number;
    maxQueue: number;
    ready: () => boolean;
    draining: () => boolean;
    /** The decoder batch: rows now, and decode steps and the rows they computed since load. */
    batch: () => { rows: number; decodeSteps: number; rowSteps: number } | undefined;
  }) {
    this.metrics = [
      this.requests,
      new Gauge('vasink_queue_depth', 'Requests waiting for a slot.', state.queueDepth),
      new Gauge('vasink_queue_capacity', 'Requests that may wait before 429.', () => state.maxQueue),
      new Gauge('vasink_active_requests', 'Requests holding a slot (generating or inspecting).', state.active),
      new Gauge('vasink_concurrency', 'Slots: requests that run at once (the decoder batch size).', state.concurrency),
      new Gauge('vasink_batch_rows', 'Rows in the decoder batch now (requests decoding together; a compare request has two).', () => state.batch()?.rows ?? 0),
      new Gauge('vasink_decode_steps', 'Decode steps run since the model loaded (a counter).', () => state.batch()?.decodeSteps ?? 0),
      new Gauge('vasink_decode_row_steps', 'Rows those decode steps computed (a counter; ÷ vasink_decode_steps = mean batch occupancy).', () => state.batch()?.rowSteps ?? 0),
      this.queueRejections,
      this.disconnects,
      this.timeouts,
      this.promptTokens,
      this.completionTokens,
      new Gauge('vasink_tokens_per_second', 'Tokens generated per second over the last 10 s, all requests together.', () => this.tokenRate.perSecond()),
      this.requestDuration,
      this.queueWait,
      this.timeToFirstToken,
      new Gauge('vasink_model_ready', '1 once the model is loaded and the server takes requests.', () => (state.ready() ? 1 : 0)),
      new Gauge('vasink_draining', '1 while the server drains (SIGTERM).', () => (state.draining() ? 1 : 0)),
    ];
  }

  render(): string {
    return `${this.metrics.flatMap((metric) => metric.render()).join('\n')}\n`;
  }
}
