/**
 * The combiner as a Lambda function: the same combine() as the CLI, working in /tmp, reports uploaded
 * to S3. Event: `{ bucket, prefix?, functions?, reporters?, outputPrefix?, … }`.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { combine, newRunId, removeDir, type CombineOptions, type CombineSummary } from './combine.js';
import { formatSummary } from './summary.js';
import { METRICS, type Thresholds } from './reports.js';
import type { InputLimits } from '../runtime/shard-format.js';

export interface CombineEvent {
  bucket: string;
  /** @default "coverage/" */
  prefix?: string;
  functions?: string[];
  /** @default ["html", "lcov", "cobertura", "json", "json-summary", "text-summary"] */
  reporters?: string[];
  /** @default `{prefix}combined/{runId}/` */
  outputPrefix?: string;
  runId?: string;
  manifests?: string[];
  pathMap?: string[];
  build?: 'newest' | 'all';
  thresholds?: Thresholds;
  maxInvalid?: number;
  concurrency?: number;
  /** Also write the merged result as a shard (`s3://bucket/key`). */
  asShard?: string;
  /** Bounds per input, as `combine()` takes them (bytes for sizes). @default the CLI's defaults */
  limits?: Partial<InputLimits>;
}

export interface CombineResponse {
  ok: boolean;
  runId: string;
  bucket: string;
  outputPrefix: string;
  /** Every S3 key written. */
  keys: string[];
  summary: CombineSummary;
  thresholdErrors: string[];
  asShard?: string;
}

export const HANDLER_REPORTERS = ['html', 'lcov', 'cobertura', 'json', 'json-summary', 'text-summary'];

export class CombineEventError extends Error {
  override name = 'CombineEventError';
}

function checkEvent(event: unknown): CombineEvent {
  if (typeof event !== 'object' || event === null) throw new CombineEventError('event must be an object like { "bucket": "my-bucket", "prefix": "coverage/" }');
  const e = event as Record<string, unknown>;
  if (typeof e.bucket !== 'string' || e.bucket === '') throw new CombineEventError('event.bucket is required (the bucket the runtime writes shards to)');
  for (const k of ['prefix', 'outputPrefix', 'runId', 'asShard'] as const) {
    if (e[k] !== undefined && typeof e[k] !== 'string') throw new CombineEventError(`event.${k} must be a string`);
  }
  for (const k of ['functions', 'reporters', 'manifests', 'pathMap'] as const) {
    if (e[k] !== undefined && !(Array.isArray(e[k]) && (e[k] as unknown[]).every((x) => typeof x === 'string'))) {
      throw new CombineEventError(`event.${k} must be an array of strings`);
    }
  }
  // The event is not the function's own configuration: it may name objects in S3, never local files.
  for (const m of (e.manifests as string[] | undefined) ?? []) {
    if (!m.startsWith('s3://')) throw new CombineEventError(`event.manifests: ${JSON.stringify(m.slice(0, 200))} is not an s3://bucket/key URL (the combiner Lambda reads no local files named by an event)`);
  }
  if (typeof e.asShard === 'string' && !e.asShard.startsWith('s3://')) throw new CombineEventError('event.asShard must be an s3://bucket/key URL');
  if (e.limits !== undefined && (typeof e.limits !== 'object' || e.limits === null || Array.isArray(e.limits))) {
    throw new CombineEventError('event.limits must be an object like { "maxFiles": 100000 }');
  }
  for (const [k, min] of [['maxInvalid', 0], ['concurrency', 1]] as const) {
    if (e[k] !== undefined && !(Number.isInteger(e[k]) && (e[k] as number) >= min)) throw new CombineEventError(`event.${k} must be a whole number ≥ ${min}`);
  }
  if (e.build !== undefined && e.build !== 'newest' && e.build !== 'all') throw new CombineEventError('event.build must be "newest" or "all"');
  if (e.thresholds !== undefined) {
    const t = e.thresholds as Record<string, unknown> | null;
    if (typeof t !== 'object' || t === null || Array.isArray(t)) throw new CombineEventError('event.thresholds must be an object like { "lines": 80 }');
    for (const [m, v] of Object.entries(t)) {
      if (!(METRICS as readonly string[]).includes(m)) throw new CombineEventError(`event.thresholds.${m}: not a metric; use ${METRICS.join(', ')}`);
      if (typeof v !== 'number' || !(v >= 0 && v <= 100)) throw new CombineEventError(`event.thresholds.${m} must be a number between 0 and 100`);
    }
  }
  return e as unknown as CombineEvent;
}

/**
 * A handler with fixed extra options (an injected S3 client in tests, say). Lambda's own second
 * argument (the context) is never read as options.
 */
export function createHandler(extra: Partial<CombineOptions> = {}): (event: unknown) => Promise<CombineResponse> {
  return (event) => runHandler(event, extra);
}

/** `lambda-coverage/combiner` handler: set the function's handler to `…/combiner/index.handler`. */
export const handler: (event: unknown) => Promise<CombineResponse> = createHandler();

async function runHandler(event: unknown, extra: Partial<CombineOptions>): Promise<CombineResponse> {
  const ev = checkEvent(event);
  const runId = ev.runId ?? newRunId();
  const work = await mkdtemp(join(tmpdir(), 'lambda-coverage-'));
  try {
    const result = await combine({
      bucket: ev.bucket,
      prefix: ev.prefix ?? 'coverage/',
      ...(ev.functions ? { functions: ev.functions } : {}),
      reporters: ev.reporters ?? HANDLER_REPORTERS,
      out: join(work, 'report'),
      sourceRoot: null,
      upload: true,
      ...(ev.outputPrefix !== undefined ? { outputPrefix: ev.outputPrefix } : {}),
      runId,
      ...(ev.manifests ? { manifests: ev.manifests } : {}),
      ...(ev.pathMap ? { pathMap: ev.pathMap } : {}),
      ...(ev.build ? { build: ev.build } : {}),
      ...(ev.thresholds ? { checkCoverage: true, thresholds: ev.thresholds } : {}),
      ...(ev.maxInvalid !== undefined ? { maxInvalid: ev.maxInvalid } : {}),
      ...(ev.concurrency !== undefined ? { concurrency: ev.concurrency } : {}),
      ...(ev.asShard ? { asShard: ev.asShard } : {}),
      ...(ev.limits ? { limits: ev.limits } : {}),
      cwd: work,
      ...extra,
    });
    // One readable block in CloudWatch Logs; the return value carries the same as data.
    console.log(`${result.terminal}${formatSummary(result.summary, result)}`);
    const keys = [...(result.uploaded?.keys ?? [])];
    return {
      ok: result.thresholdErrors.length === 0,
      runId,
      bucket: ev.bucket,
      outputPrefix: result.uploaded?.prefix ?? '',
      keys,
      summary: result.summary,
      thresholdErrors: result.thresholdErrors,
      ...(result.asShard ? { asShard: result.asShard.shard } : {}),
    };
  } finally {
    await removeDir(work);
  }
}
