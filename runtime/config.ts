/**
 * Runtime configuration from the Lambda environment. Pure: takes an env object, returns a validated
 * config or the list of problems, each naming the variable and what was expected. Read once at cold
 * start; a bad value turns coverage off (the function keeps running) and is reported by health.
 * Names, defaults, flag values and the readers are runtime/env.ts's; the rules only the layer needs
 * (bucket names, prefixes, SSE with KMS) are here.
 */
import {
  DEFAULT_MAX_TESTS, DEFAULT_PREFIX, DEFAULT_UPLOAD_TIMEOUT_SECONDS, MAX_MAX_TESTS, MAX_UPLOAD_TIMEOUT_SECONDS, ORIGINAL_HANDLER_VARIABLE,
  RUNTIME_VARIABLES, isCoverageEnabled, readChoice, readCount, readFlag, readRegion, readS3Endpoint, readSecondsAsMs, readString, type Env, type EnvProblem,
} from './env.js';
import { normalizePrefix } from '../contract/format.js';

export { isCoverageEnabled } from './env.js';

export type FlushMode = 'inline' | 'deferred';
export type SseMode = 'AES256' | 'aws:kms';
/** `light`: signed PUT over node:https when the credentials are in the environment, else the SDK. */
export type UploadPathSetting = 'light' | 'sdk';

export interface CoverageConfig {
  /** `COVERAGE_ENABLED` set to a true flag value (runtime/env.ts). Anything else: the layer changes nothing. */
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
  /** `COVERAGE_S3_FORCE_PATH_STYLE`, a flag. */
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
  /**
   * `COVERAGE_MAX_TESTS`: named tests this container keeps per-test coverage for; an invocation naming
   * a test past it is counted as untagged. 0 turns per-test coverage off (shards are then version 2).
   * @default 500
   */
  maxTests: number;
  /**
   * Lambda initializes this environment before any request waits for it (AWS_LAMBDA_INITIALIZATION_TYPE
   * is provisioned-concurrency or lambda-managed-instances): the first flush's fixed work is then done
   * during init. On-demand init is on a request's path.
   */
  initializedAhead: boolean;
  /** Region from the Lambda environment (`AWS_REGION`, else `AWS_DEFAULT_REGION`). */
  region: string | undefined;
  functionName: string;
  functionVersion: string;
}

export type ConfigProblem = EnvProblem;

export interface ConfigResult {
  /** False when a setting is wrong: coverage turns itself off. */
  ok: boolean;
  config: CoverageConfig;
  /** Every problem found; unknown COVERAGE_* names are warnings only (see `isFatal`). */
  problems: ConfigProblem[];
}

/** Variables this module reads; anything else starting with COVERAGE_ is reported as unknown. */
export const CONFIG_VARIABLES = [...RUNTIME_VARIABLES, ORIGINAL_HANDLER_VARIABLE] as const;

// S3 bucket naming rules (general purpose and directory buckets).
const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](--[a-z0-9-]+--x-s3)?$/;

/** Validates every COVERAGE_* variable. Never throws. */
export function parseConfig(env: Env): ConfigResult {
  const problems: ConfigProblem[] = [];
  const enabled = isCoverageEnabled(env);

  const bucket = readString(env, 'COVERAGE_S3_BUCKET') ?? '';
  if (enabled && bucket === '') {
    problems.push({ variable: 'COVERAGE_S3_BUCKET', message: 'COVERAGE_S3_BUCKET is required when COVERAGE_ENABLED=1; set it to the bucket that receives the coverage shards' });
  } else if (bucket !== '' && !BUCKET_RE.test(bucket)) {
    problems.push({ variable: 'COVERAGE_S3_BUCKET', message: `COVERAGE_S3_BUCKET=${JSON.stringify(bucket)} is not a valid S3 bucket name (a bucket name, not an ARN or s3:// URL)` });
  }

  const rawPrefix = env.COVERAGE_S3_PREFIX ?? DEFAULT_PREFIX;
  if (rawPrefix.includes('..') || /[\u0000-\u001f\\]/.test(rawPrefix)) {
    problems.push({ variable: 'COVERAGE_S3_PREFIX', message: `COVERAGE_S3_PREFIX=${JSON.stringify(rawPrefix)} may not contain "..", backslashes or control characters` });
  }
  const prefix = normalizePrefix(rawPrefix.trim());

  const uploadTimeoutMs = readSecondsAsMs(env, 'COVERAGE_UPLOAD_TIMEOUT', MAX_UPLOAD_TIMEOUT_SECONDS, DEFAULT_UPLOAD_TIMEOUT_SECONDS, problems);
  const sse = readChoice<SseMode>(env, 'COVERAGE_S3_SSE', ['AES256', 'aws:kms'], 'AES256', problems);

  const kmsKeyId = readString(env, 'COVERAGE_S3_KMS_KEY_ID');
  if (kmsKeyId !== undefined && sse !== 'aws:kms') {
    problems.push({ variable: 'COVERAGE_S3_KMS_KEY_ID', message: 'COVERAGE_S3_KMS_KEY_ID is set but COVERAGE_S3_SSE is not aws:kms; set COVERAGE_S3_SSE=aws:kms or remove the key id' });
  }

  const expectedBucketOwner = readString(env, 'COVERAGE_S3_EXPECTED_BUCKET_OWNER');
  if (expectedBucketOwner !== undefined && !/^\d{12}$/.test(expectedBucketOwner)) {
    problems.push({ variable: 'COVERAGE_S3_EXPECTED_BUCKET_OWNER', message: 'COVERAGE_S3_EXPECTED_BUCKET_OWNER must be a 12-digit AWS account id' });
  }

  const flush = readChoice<FlushMode>(env, 'COVERAGE_FLUSH', ['inline', 'deferred'], 'inline', problems);
  const endpoint = readS3Endpoint(env, problems);
  const manifest = readString(env, 'COVERAGE_MANIFEST');
  const logLevel = readChoice(env, 'COVERAGE_LOG_LEVEL', ['debug', 'info', 'warn', 'error'], 'info', problems);

  const uploadPath = readChoice<UploadPathSetting>(env, 'COVERAGE_UPLOAD_PATH', ['light', 'sdk'], 'light', problems);

  const forcePathStyle = readFlag(env, 'COVERAGE_S3_FORCE_PATH_STYLE', problems);
  const healthHttp = readFlag(env, 'COVERAGE_HEALTH_HTTP', problems);
  const healthHttpDeep = readFlag(env, 'COVERAGE_HEALTH_HTTP_DEEP', problems);
  const metrics = readFlag(env, 'COVERAGE_METRICS', problems);
  const debug = readFlag(env, 'COVERAGE_DEBUG', problems) || logLevel === 'debug';
  const maxTests = readCount(env, 'COVERAGE_MAX_TESTS', MAX_MAX_TESTS, DEFAULT_MAX_TESTS, problems);

  const known = new Set<string>(CONFIG_VARIABLES);
  for (const name of Object.keys(env)) {
    if (name.startsWith('COVERAGE_') && !known.has(name)) {
      problems.push({ variable: name, message: `${name} is not a lambda-coverage setting (known: ${CONFIG_VARIABLES.slice(0, -1).join(', ')}); check its spelling` });
    }
  }

  const config: CoverageConfig = {
    enabled, bucket, prefix, uploadTimeoutMs, sse, kmsKeyId, expectedBucketOwner, flush, uploadPath,
    endpoint,
    customEndpoint: endpoint !== undefined,
    forcePathStyle, manifest, healthHttp, healthHttpDeep, metrics, debug, maxTests,
    initializedAhead: ['provisioned-concurrency', 'lambda-managed-instances'].includes(env.AWS_LAMBDA_INITIALIZATION_TYPE ?? ''),
    region: readRegion(env),
    functionName: readString(env, 'AWS_LAMBDA_FUNCTION_NAME') ?? 'local-function',
    functionVersion: readString(env, 'AWS_LAMBDA_FUNCTION_VERSION') ?? '$LATEST',
  };
  // An unknown variable is a warning, not a reason to stop measuring; nothing matters when disabled.
  if (!enabled) return { ok: true, config, problems: [] };
  return { ok: !problems.some(isFatal), config, problems };
}

/** Only unknown-variable problems: coverage keeps running, the log says what was ignored. */
export function isFatal(problem: ConfigProblem): boolean {
  return (CONFIG_VARIABLES as readonly string[]).includes(problem.variable);
}
