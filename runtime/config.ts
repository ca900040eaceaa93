/**
 * Runtime configuration from the Lambda environment. Pure: takes an env object, returns a validated
 * config or the list of problems, each naming the variable and what was expected. Read once at cold
 * start; a bad value turns coverage off (the function keeps running) and is reported by health.
 */
import { normalizePrefix } from './shard-format.js';

export type FlushMode = 'inline' | 'deferred';
export type SseMode = 'AES256' | 'aws:kms';
/** `light`: signed PUT over node:https when the credentials are in the environment, else the SDK. */
export type UploadPathSetting = 'light' | 'sdk';

export interface CoverageConfig {
  /** `COVERAGE_ENABLED=1`. Anything else: the layer changes nothing. */
  enabled: boolean;
  /** `COVERAGE_S3_BUCKET` (required when enabled). */
  bucket: string;
  /** `COVERAGE_S3_PREFIX`, normalized to end in `/`. @default "coverage/" */
  prefix: string;
  /** `COVERAGE_UPLOAD_TIMEOUT` in seconds, stored in ms: bound on one flush (all attempts). @default 30 s */
  uploadTimeoutMs: number;
  /** `COVERAGE_S3_SSE`. @default "AES256" */
  sse: SseMode;
  /** `COVERAGE_S3_KMS_KEY_ID` (only with `aws:kms`; without it S3 uses the bucket's AWS-managed key). */
  kmsKeyId: string | undefined;
  /** `COVERAGE_S3_EXPECTED_BUCKET_OWNER`: 12-digit account id sent as ExpectedBucketOwner. */
  expectedBucketOwner: string | undefined;
  /** `COVERAGE_FLUSH`. @default "inline" */
  flush: FlushMode;
  /**
   * `COVERAGE_UPLOAD_PATH`: `light` signs each PUT itself and sends it with node:https when the
   * credentials are in the environment (else, and for what it does not cover, the SDK); `sdk` always
   * uses `@aws-sdk/client-s3`. @default "light"
   */
  uploadPath: UploadPathSetting;
  /** `COVERAGE_S3_ENDPOINT`, else the SDK's own `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`. */
  endpoint: string | undefined;
  /** True when the endpoint is not AWS's own: S3-compatible stores need `WHEN_REQUIRED` checksums. */
  customEndpoint: boolean;
  /** `COVERAGE_S3_FORCE_PATH_STYLE=1`. */
  forcePathStyle: boolean;
  /** `COVERAGE_MANIFEST`: path of the build manifest (else found beside the handler). */
  manifest: string | undefined;
  /** `COVERAGE_HEALTH_HTTP=1`: answer `GET /__coverage/health` from API Gateway / function URLs. */
  healthHttp: boolean;
  /**
   * `COVERAGE_HEALTH_HTTP_DEEP=1`: let `GET /__coverage/health?deep=1` write the probe object too. A second
   * opt-in because anyone who can reach the API can send that request; without it HTTP gets the shallow
   * answer. Direct invocations (which need lambda:InvokeFunction) do not need it.
   */
  healthHttpDeep: boolean;
  /** `COVERAGE_METRICS=1`: CloudWatch Embedded Metric Format lines per upload. */
  metrics: boolean;
  /** `COVERAGE_DEBUG=1` (or `COVERAGE_LOG_LEVEL=debug`): one JSON line per flush. */
  debug: boolean;
  /** Region from the Lambda environment (`AWS_REGION`, else `AWS_DEFAULT_REGION`). */
  region: string | undefined;
  functionName: string;
  functionVersion: string;
}

export interface ConfigProblem {
  variable: string;
  message: string;
}

export interface ConfigResult {
  /** False when a setting is wrong: coverage turns itself off. */
  ok: boolean;
  config: CoverageConfig;
  /** Every problem found; unknown COVERAGE_* names are warnings only (see `isFatal`). */
  problems: ConfigProblem[];
}

const FLAG_TRUE = new Set(['1', 'true']);
const FLAG_FALSE = new Set(['', '0', 'false']);

/** Variables this module reads; anything else starting with COVERAGE_ is reported as unknown. */
export const CONFIG_VARIABLES = [
  'COVERAGE_ENABLED', 'COVERAGE_S3_BUCKET', 'COVERAGE_S3_PREFIX', 'COVERAGE_UPLOAD_TIMEOUT', 'COVERAGE_S3_SSE',
  'COVERAGE_S3_KMS_KEY_ID', 'COVERAGE_S3_EXPECTED_BUCKET_OWNER', 'COVERAGE_FLUSH', 'COVERAGE_S3_ENDPOINT',
  'COVERAGE_S3_FORCE_PATH_STYLE', 'COVERAGE_MANIFEST', 'COVERAGE_HEALTH_HTTP', 'COVERAGE_HEALTH_HTTP_DEEP', 'COVERAGE_METRICS',
  'COVERAGE_DEBUG', 'COVERAGE_LOG_LEVEL', 'COVERAGE_UPLOAD_PATH',
  // Set by the layer's wrapper/preload, not by users.
  'COVERAGE_ORIGINAL_HANDLER',
] as const;

// S3 bucket naming rules (general purpose and directory buckets).
const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](--[a-z0-9-]+--x-s3)?$/;

function flag(env: Record<string, string | undefined>, name: string, problems: ConfigProblem[]): boolean {
  const raw = (env[name] ?? '').trim().toLowerCase();
  if (FLAG_TRUE.has(raw)) return true;
  if (FLAG_FALSE.has(raw)) return false;
  problems.push({ variable: name, message: `${name}=${JSON.stringify(env[name])} is not a flag; use 1 to turn it on or leave it unset` });
  return false;
}

export function isCoverageEnabled(env: Record<string, string | undefined>): boolean {
  return (env.COVERAGE_ENABLED ?? '').trim() === '1' || (env.COVERAGE_ENABLED ?? '').trim().toLowerCase() === 'true';
}

/** Validates every COVERAGE_* variable. Never throws. */
export function parseConfig(env: Record<string, string | undefined>): ConfigResult {
  const problems: ConfigProblem[] = [];
  const enabled = isCoverageEnabled(env);

  const bucket = (env.COVERAGE_S3_BUCKET ?? '').trim();
  if (enabled && bucket === '') {
    problems.push({ variable: 'COVERAGE_S3_BUCKET', message: 'COVERAGE_S3_BUCKET is required when COVERAGE_ENABLED=1; set it to the bucket that receives the coverage shards' });
  } else if (bucket !== '' && !BUCKET_RE.test(bucket)) {
    problems.push({ variable: 'COVERAGE_S3_BUCKET', message: `COVERAGE_S3_BUCKET=${JSON.stringify(bucket)} is not a valid S3 bucket name (a bucket name, not an ARN or s3:// URL)` });
  }

  const rawPrefix = env.COVERAGE_S3_PREFIX ?? 'coverage/';
  if (rawPrefix.includes('..') || /[\u0000-\u001f\\]/.test(rawPrefix)) {
    problems.push({ variable: 'COVERAGE_S3_PREFIX', message: `COVERAGE_S3_PREFIX=${JSON.stringify(rawPrefix)} may not contain "..", backslashes or control characters` });
  }
  const prefix = normalizePrefix(rawPrefix.trim());

  let uploadTimeoutMs = 30_000;
  if (env.COVERAGE_UPLOAD_TIMEOUT !== undefined && env.COVERAGE_UPLOAD_TIMEOUT.trim() !== '') {
    const n = Number(env.COVERAGE_UPLOAD_TIMEOUT);
    if (!Number.isFinite(n) || n <= 0 || n > 900) {
      problems.push({ variable: 'COVERAGE_UPLOAD_TIMEOUT', message: `COVERAGE_UPLOAD_TIMEOUT=${JSON.stringify(env.COVERAGE_UPLOAD_TIMEOUT)} must be a number of seconds between 0 and 900 (default 30)` });
    } else {
      uploadTimeoutMs = Math.round(n * 1000);
    }
  }

  let sse: SseMode = 'AES256';
  const rawSse = (env.COVERAGE_S3_SSE ?? '').trim();
  if (rawSse === '' || rawSse.toUpperCase() === 'AES256') sse = 'AES256';
  else if (rawSse.toLowerCase() === 'aws:kms') sse = 'aws:kms';
  else problems.push({ variable: 'COVERAGE_S3_SSE', message: `COVERAGE_S3_SSE=${JSON.stringify(rawSse)} must be AES256 (default) or aws:kms` });

  const kmsKeyId = (env.COVERAGE_S3_KMS_KEY_ID ?? '').trim() || undefined;
  if (kmsKeyId !== undefined && sse !== 'aws:kms') {
    problems.push({ variable: 'COVERAGE_S3_KMS_KEY_ID', message: 'COVERAGE_S3_KMS_KEY_ID is set but COVERAGE_S3_SSE is not aws:kms; set COVERAGE_S3_SSE=aws:kms or remove the key id' });
  }

  const expectedBucketOwner = (env.COVERAGE_S3_EXPECTED_BUCKET_OWNER ?? '').trim() || undefined;
  if (expectedBucketOwner !== undefined && !/^\d{12}$/.test(expectedBucketOwner)) {
    problems.push({ variable: 'COVERAGE_S3_EXPECTED_BUCKET_OWNER', message: 'COVERAGE_S3_EXPECTED_BUCKET_OWNER must be a 12-digit AWS account id' });
  }

  let flush: FlushMode = 'inline';
  const rawFlush = (env.COVERAGE_FLUSH ?? '').trim().toLowerCase();
  if (rawFlush === 'deferred') flush = 'deferred';
  else if (rawFlush !== '' && rawFlush !== 'inline') {
    problems.push({ variable: 'COVERAGE_FLUSH', message: `COVERAGE_FLUSH=${JSON.stringify(env.COVERAGE_FLUSH)} must be inline (default) or deferred` });
  }

  let uploadPath: UploadPathSetting = 'light';
  const rawPath = (env.COVERAGE_UPLOAD_PATH ?? '').trim().toLowerCase();
  if (rawPath === 'sdk') uploadPath = 'sdk';
  else if (rawPath !== '' && rawPath !== 'light') {
    problems.push({ variable: 'COVERAGE_UPLOAD_PATH', message: `COVERAGE_UPLOAD_PATH=${JSON.stringify(env.COVERAGE_UPLOAD_PATH)} must be light (default) or sdk` });
  }

  const ownEndpoint = (env.COVERAGE_S3_ENDPOINT ?? '').trim() || undefined;
  if (ownEndpoint !== undefined && !/^https?:\/\/[^\s/]+/.test(ownEndpoint)) {
    problems.push({ variable: 'COVERAGE_S3_ENDPOINT', message: `COVERAGE_S3_ENDPOINT=${JSON.stringify(ownEndpoint)} must be an http:// or https:// URL` });
  }
  const sdkEndpoint = (env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL ?? '').trim() || undefined;

  const manifest = (env.COVERAGE_MANIFEST ?? '').trim() || undefined;
  const logLevel = (env.COVERAGE_LOG_LEVEL ?? '').trim().toLowerCase();
  if (logLevel !== '' && !['debug', 'info', 'warn', 'error'].includes(logLevel)) {
    problems.push({ variable: 'COVERAGE_LOG_LEVEL', message: `COVERAGE_LOG_LEVEL=${JSON.stringify(env.COVERAGE_LOG_LEVEL)} must be debug, info, warn or error` });
  }

  const forcePathStyle = flag(env, 'COVERAGE_S3_FORCE_PATH_STYLE', problems);
  const healthHttp = flag(env, 'COVERAGE_HEALTH_HTTP', problems);
  const healthHttpDeep = flag(env, 'COVERAGE_HEALTH_HTTP_DEEP', problems);
  const metrics = flag(env, 'COVERAGE_METRICS', problems);
  const debug = flag(env, 'COVERAGE_DEBUG', problems) || logLevel === 'debug';

  const known = new Set<string>(CONFIG_VARIABLES);
  for (const name of Object.keys(env)) {
    if (name.startsWith('COVERAGE_') && !known.has(name)) {
      problems.push({ variable: name, message: `${name} is not a lambda-coverage setting (known: ${CONFIG_VARIABLES.slice(0, -1).join(', ')}); check its spelling` });
    }
  }

  const config: CoverageConfig = {
    enabled, bucket, prefix, uploadTimeoutMs, sse, kmsKeyId, expectedBucketOwner, flush, uploadPath,
    endpoint: ownEndpoint ?? sdkEndpoint,
    customEndpoint: (ownEndpoint ?? sdkEndpoint) !== undefined,
    forcePathStyle, manifest, healthHttp, healthHttpDeep, metrics, debug,
    region: (env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? '').trim() || undefined,
    functionName: (env.AWS_LAMBDA_FUNCTION_NAME ?? '').trim() || 'local-function',
    functionVersion: (env.AWS_LAMBDA_FUNCTION_VERSION ?? '').trim() || '$LATEST',
  };
  // An unknown variable is a warning, not a reason to stop measuring; nothing matters when disabled.
  if (!enabled) return { ok: true, config, problems: [] };
  return { ok: !problems.some(isFatal), config, problems };
}

/** Only unknown-variable problems: coverage keeps running, the log says what was ignored. */
export function isFatal(problem: ConfigProblem): boolean {
  return (CONFIG_VARIABLES as readonly string[]).includes(problem.variable);
}
