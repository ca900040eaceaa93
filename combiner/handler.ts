/**
 * The combiner as a Lambda function: the same combine() as the CLI, working in /tmp, reports uploaded
 * to S3. Event: `{ bucket, prefix?, functions?, reporters?, outputPrefix?, … }`, checked against the
 * combine command's option declaration (event.ts).
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { combine, newRunId, type CombineOptions, type CombineSummary } from './combine.js';
import { removeDir } from './publish.js';
import { checkEvent, eventOptions } from './event.js';
import { formatSummary } from './summary.js';

export type { CombineEvent } from './event.js';

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

export { CombineEventError } from './event.js';

export const HANDLER_REPORTERS = ['html', 'lcov', 'cobertura', 'json', 'json-summary', 'text-summary'];

/**
 * A handler with fixed extra options (an injected S3 client in tests, say). Lambda's own second
 * argument (the context) is never read as options.
 */
export function createHandler(extra: Partial<CombineOptions> = {}): (event: unknown) => Promise<CombineResponse> {
  return (event) => runHandler(event, extra);
}

/**
 * `lambda-coverage/combiner` handler: set the function's handler to `…/combiner/index.handler`, or
 * re-export it.
 *
 * @example
 * // combiner/index.mjs of your stack, handler `index.handler`; invoke it with
 * // { "bucket": "my-coverage-bucket", "thresholds": { "lines": 80 } }
 * export { handler } from 'lambda-coverage/combiner';
 */
export const handler: (event: unknown) => Promise<CombineResponse> = createHandler();

async function runHandler(event: unknown, extra: Partial<CombineOptions>): Promise<CombineResponse> {
  const ev = checkEvent(event);
  const runId = ev.runId ?? newRunId();
  const work = await mkdtemp(join(tmpdir(), 'lambda-coverage-'));
  try {
    const result = await combine({
      // Every field the event shares with the command line, then what the handler sets itself.
      ...eventOptions(ev),
      prefix: ev.prefix ?? 'coverage/',
      reporters: ev.reporters ?? HANDLER_REPORTERS,
      out: join(work, 'report'),
      sourceRoot: null,
      upload: true,
      runId,
      ...(ev.thresholds ? { checkCoverage: true, thresholds: ev.thresholds } : {}),
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
