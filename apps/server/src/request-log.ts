/** How a generation ended, as the access log records it. */
export type RequestOutcome = 'stop' | 'length' | 'disconnect' | 'timeout' | 'error';

/** One finished request, passed to `onRequest`. */
export interface RequestLogEntry {
  /** `chatcmpl-…` / `inspect-…` / `req-…`. */
  id: string;
  method: string;
  /** Path without the query string. */
  path: string;
  status: number;
  /** From arrival to the response's end, ms. */
  durationMs: number;
  /** Waiting for a slot, ms (model endpoints only). */
  queueMs?: number;
  promptTokens?: number;
  completionTokens?: number;
  /** Model endpoints only. */
  outcome?: RequestOutcome;
  stream?: boolean;
  /** Whether VAR was on. */
  var?: boolean;
  /** The error code answered, when the status is not 2xx. */
  error?: string;
}

/** One access-log line: `POST /v1/chat/completions 200 812ms queue=3ms tokens=58+24 stop var stream`. */
export function formatRequestLogEntry(entry: RequestLogEntry): string {
  const parts = [entry.method, entry.path, String(entry.status), `${Math.round(entry.durationMs)}ms`];
  if (entry.queueMs !== undefined) parts.push(`queue=${Math.round(entry.queueMs)}ms`);
  if (entry.promptTokens !== undefined) parts.push(`tokens=${entry.promptTokens}+${entry.completionTokens ?? 0}`);
  if (entry.outcome) parts.push(entry.outcome);
  if (entry.var) parts.push('var');
  if (entry.stream) parts.push('stream');
  if (entry.error) parts.push(`error=${entry.error}`);
  return parts.join(' ');
}
