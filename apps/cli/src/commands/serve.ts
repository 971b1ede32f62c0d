import { DEFAULT_LIMITS, DEFAULT_MAX_BATCH, formatRequestLogEntry, startServer } from '@vasink/server';
import { FAMILIES } from '../lib/families.js';
import { UsageError, intListFlag, numberFlag, parseCommand, required } from '../lib/usage.js';

const HELP = `usage: vasink serve --model <dir> [options]

Serve a converted model over an OpenAI-compatible HTTP API (POST /v1/chat/completions
with image_url parts, streaming; an extra "var" field sets VAR per request), with
/v1/models, /health, /metrics, /v1/var/inspect and a playground page at /.
SIGTERM drains: in-flight requests finish, new ones get 503, then exit 0.
  --model <dir>              converted model directory
  --host <addr>              default 127.0.0.1 (loopback only)
  --port <n>                 default 8000
  --device auto|cuda|cpu     default auto
  --threads <n>              onnxruntime intra-op threads
  --sink-dims a,b            override the model's sink dimensions
  --api-key <key>            require "Authorization: Bearer <key>"; repeat for several
  --cors-origin <origin>     allow this browser origin; repeat for several (default: no CORS)
  --image-dir <dir>          allow file:// image URLs under this directory (default: refused)
  --max-batch <n>            requests generating at once, decoded in one batch (continuous
                             batching; default ${DEFAULT_MAX_BATCH}, lowered at start to what memory allows;
                             a value given here is kept or refused). --concurrency: same
  --context <n>              context length served (default: the model's, else 4096); the
                             memory preflight provisions max-batch × this context at start
  --max-queue <n>            waiting requests before 429 (default 16)
  --timeout <seconds>        per-request timeout (default 120)
  --var <preset|off>         VAR for requests that give no "var" field (default off)
  --max-body-mb <n>          default ${DEFAULT_LIMITS.maxBodyBytes / 2 ** 20}
  --max-images <n>           default ${DEFAULT_LIMITS.maxImages}
  --max-image-pixels <n>     default ${DEFAULT_LIMITS.maxImagePixels}
  --max-prompt-tokens <n>    default ${DEFAULT_LIMITS.maxPromptTokens}
  --max-tokens <n>           largest max_tokens a request may ask (default ${DEFAULT_LIMITS.maxTokens})
  --no-playground            do not serve the page at /
`;

export async function runServe(args: string[]): Promise<number> {
  const parsed = parseCommand(
    args,
    {
      model: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      device: { type: 'string' },
      threads: { type: 'string' },
      'sink-dims': { type: 'string' },
      'api-key': { type: 'string', multiple: true },
      'cors-origin': { type: 'string', multiple: true },
      'image-dir': { type: 'string' },
      'max-batch': { type: 'string' },
      concurrency: { type: 'string' },
      context: { type: 'string' },
      'max-queue': { type: 'string' },
      timeout: { type: 'string' },
      var: { type: 'string' },
      'max-body-mb': { type: 'string' },
      'max-images': { type: 'string' },
      'max-image-pixels': { type: 'string' },
      'max-prompt-tokens': { type: 'string' },
      'max-tokens': { type: 'string' },
      'no-playground': { type: 'boolean' },
    },
    HELP,
  );
  if (!parsed) return 0;
  const { values } = parsed;
  const device = values.device ?? 'auto';
  if (!['auto', 'cuda', 'cpu'].includes(device)) throw new UsageError(`--device must be auto, cuda or cpu, got "${device}"`);
  const int = (flag: string, min = 1) => numberFlag(values[flag as keyof typeof values] as string | undefined, flag, { integer: true, min });
  const limits = Object.fromEntries(
    Object.entries({
      maxBodyBytes: values['max-body-mb'] === undefined ? undefined : (numberFlag(values['max-body-mb'], 'max-body-mb', { min: 0.001 }) as number) * 2 ** 20,
      maxImages: int('max-images', 0),
      maxImagePixels: int('max-image-pixels'),
      maxPromptTokens: int('max-prompt-tokens'),
      maxTokens: int('max-tokens'),
    }).filter(([, v]) => v !== undefined),
  );
  const sinkDims = intListFlag(values['sink-dims'], 'sink-dims');
  const timeout = numberFlag(values.timeout, 'timeout', { min: 0.001 });
  const defaultVar = values.var === undefined || values.var === 'off' ? false : { preset: values.var };
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const server = await startServer({
    model: required(values.model, 'model'),
    families: FAMILIES,
    device: device as 'auto',
    host: values.host ?? '127.0.0.1',
    port: int('port', 0) ?? 8000,
    ...(int('threads') ? { threads: int('threads') } : {}),
    ...(sinkDims ? { sinkDims } : {}),
    ...(values['api-key'] ? { apiKeys: values['api-key'] } : {}),
    ...(values['cors-origin'] ? { corsOrigins: values['cors-origin'] } : {}),
    ...(values['image-dir'] ? { imageDir: values['image-dir'] } : {}),
    ...(int('max-batch') ? { maxBatch: int('max-batch') } : {}),
    ...(int('concurrency') ? { concurrency: int('concurrency') } : {}),
    ...(int('context') ? { contextLength: int('context') } : {}),
    ...(int('max-queue', 0) !== undefined ? { maxQueue: int('max-queue', 0) } : {}),
    ...(timeout ? { requestTimeoutMs: timeout * 1000 } : {}),
    defaultVar,
    playground: !values['no-playground'],
    limits,
    onNotice: log,
    onRequest: (entry) => log(formatRequestLogEntry(entry)),
  });
  const address = server.address();
  log(`vasink serving ${values.model} at ${address?.url ?? ''} (loading the model…)`);
  await server.ready;
  log('model loaded: ready');
  // The server runs until SIGTERM/SIGINT; startServer exits the process after draining.
  return new Promise<number>(() => {});
}
