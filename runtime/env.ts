/**
 * The one owner of lambda-coverage's environment variables: their names, defaults, the one set of flag
 * values, and typed readers whose messages name the variable (after Powertools' commons envUtils). The
 * plugin (COVERAGE_ENABLED at build time), the runtime (runtime/config.ts, at cold start) and the
 * combiner (combiner/s3.ts) all read through it. Pure and import-free: the layer loads it at init.
 *
 * The layer's three shells cannot import TypeScript and repeat only what they need: COVERAGE_ENABLED
 * in the exec wrapper (layer/lambda-coverage) and the preload (layer/preload.cjs); COVERAGE_ENABLED,
 * COVERAGE_FLUSH and COVERAGE_UPLOAD_TIMEOUT in the extension (layer/extensions/lambda-coverage).
 * test/runtime/env-values.test.ts runs one table of values against this module and against each of them.
 *
 * A new COVERAGE_* variable: its name (and default) here, its reader in runtime/config.ts (or the
 * part that uses it), a row in the variables tables of README.md and docs/runtime.md (a test holds
 * those tables to RUNTIME_VARIABLES).
 */

/** An environment to read (process.env, or one handed in by a test or a caller). */
export type Env = Readonly<Record<string, string | undefined>>;

/** One wrong setting: the variable, and a sentence that names it and says what was expected. */
export interface EnvProblem {
  variable: string;
  message: string;
}

/**
 * Flag values, compared after trimming surrounding whitespace and lower-casing: Powertools for AWS
 * Lambda's truthy and falsy sets. Empty (or unset) is the default (off). Anything else is not a flag.
 */
export const TRUE_VALUES: readonly string[] = ['1', 'true', 't', 'yes', 'y', 'on'];
export const FALSE_VALUES: readonly string[] = ['0', 'false', 'f', 'no', 'n', 'off'];

/** What the user may set on a function with the layer; any other COVERAGE_* name is warned about. */
export const RUNTIME_VARIABLES = [
  'COVERAGE_ENABLED', 'COVERAGE_S3_BUCKET', 'COVERAGE_S3_PREFIX', 'COVERAGE_UPLOAD_TIMEOUT', 'COVERAGE_S3_SSE',
  'COVERAGE_S3_KMS_KEY_ID', 'COVERAGE_S3_EXPECTED_BUCKET_OWNER', 'COVERAGE_FLUSH', 'COVERAGE_S3_ENDPOINT',
  'COVERAGE_S3_FORCE_PATH_STYLE', 'COVERAGE_MANIFEST', 'COVERAGE_HEALTH_HTTP', 'COVERAGE_HEALTH_HTTP_DEEP', 'COVERAGE_METRICS',
  'COVERAGE_DEBUG', 'COVERAGE_LOG_LEVEL', 'COVERAGE_UPLOAD_PATH', 'COVERAGE_MAX_TESTS',
] as const;

/** Set by the layer's wrapper and preload (the function's own handler), never by users. */
export const ORIGINAL_HANDLER_VARIABLE = 'COVERAGE_ORIGINAL_HANDLER';

/** The build's debug switch (plugin): one line per file on stderr. */
export const BUILD_DEBUG_VARIABLE = 'LAMBDA_COVERAGE_DEBUG';

export const DEFAULT_PREFIX = 'coverage/';
export const DEFAULT_UPLOAD_TIMEOUT_SECONDS = 30;
/** Upper bound of COVERAGE_UPLOAD_TIMEOUT: Lambda's longest function timeout. */
export const MAX_UPLOAD_TIMEOUT_SECONDS = 900;
/** COVERAGE_MAX_TESTS: named tests one container keeps per-test coverage for (0: none). */
export const DEFAULT_MAX_TESTS = 500;
/** Its upper bound: the combiner's default bound on the tests of one shard (contract/limits.ts). */
export const MAX_MAX_TESTS = 10_000;

const ON = new Set(TRUE_VALUES);
const OFF = new Set(['', ...FALSE_VALUES]);

/** A flag's value: true, false (also for unset or empty), or undefined when it is not a flag value. */
export function parseFlag(raw: string | undefined): boolean | undefined {
  const v = (raw ?? '').trim().toLowerCase();
  if (ON.has(v)) return true;
  if (OFF.has(v)) return false;
  return undefined;
}

/** A flag: a value outside both sets is a problem (named) and reads as off. */
export function readFlag(env: Env, name: string, problems: EnvProblem[]): boolean {
  const v = parseFlag(env[name]);
  if (v !== undefined) return v;
  problems.push({
    variable: name,
    message: `${name}=${JSON.stringify(env[name])} is not a flag; use 1, true, yes or on to turn it on (0, false, no, off or unset: off)`,
  });
  return false;
}

/** COVERAGE_ENABLED: on only for a true value; anything else (unset, off, not a flag) leaves everything as it is. */
export function isCoverageEnabled(env: Env): boolean {
  return parseFlag(env.COVERAGE_ENABLED) === true;
}

/** A string setting, trimmed; unset or blank is undefined. */
export function readString(env: Env, name: string): string | undefined {
  return (env[name] ?? '').trim() || undefined;
}

/** One of `choices`, matched without regard to case and surrounding whitespace; unset or blank is `fallback`. */
export function readChoice<T extends string>(env: Env, name: string, choices: readonly T[], fallback: T, problems: EnvProblem[]): T {
  const raw = readString(env, name);
  if (raw === undefined) return fallback;
  const hit = choices.find((c) => c.toLowerCase() === raw.toLowerCase());
  if (hit !== undefined) return hit;
  const list = choices.map((c) => (c === fallback ? `${c} (default)` : c));
  problems.push({ variable: name, message: `${name}=${JSON.stringify(env[name])} must be ${list.slice(0, -1).join(', ')} or ${list.at(-1)}` });
  return fallback;
}

/** A number of seconds in (0, max], returned in ms; unset or blank is `fallbackSeconds`. */
export function readSecondsAsMs(env: Env, name: string, max: number, fallbackSeconds: number, problems: EnvProblem[]): number {
  const raw = readString(env, name);
  if (raw === undefined) return fallbackSeconds * 1000;
  const n = Number(raw);
  if (Number.isFinite(n) && n > 0 && n <= max) return Math.round(n * 1000);
  problems.push({ variable: name, message: `${name}=${JSON.stringify(env[name])} must be a number of seconds between 0 and ${max} (default ${fallbackSeconds})` });
  return fallbackSeconds * 1000;
}

/** A whole number in [0, max]; unset or blank is `fallback`. */
export function readCount(env: Env, name: string, max: number, fallback: number, problems: EnvProblem[]): number {
  const raw = readString(env, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (Number.isSafeInteger(n) && n >= 0 && n <= max) return n;
  problems.push({ variable: name, message: `${name}=${JSON.stringify(env[name])} must be a whole number between 0 and ${max} (default ${fallback})` });
  return fallback;
}

/**
 * The S3 endpoint: COVERAGE_S3_ENDPOINT (an http:// or https:// URL), else the SDK's own
 * AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL (the SDK's own order), for the runtime and the combiner alike.
 */
export function readS3Endpoint(env: Env, problems: EnvProblem[]): string | undefined {
  const own = readString(env, 'COVERAGE_S3_ENDPOINT');
  if (own !== undefined && !/^https?:\/\/[^\s/]+/.test(own)) {
    problems.push({ variable: 'COVERAGE_S3_ENDPOINT', message: `COVERAGE_S3_ENDPOINT=${JSON.stringify(own)} must be an http:// or https:// URL` });
  }
  return own ?? readString(env, 'AWS_ENDPOINT_URL_S3') ?? readString(env, 'AWS_ENDPOINT_URL');
}

/** The region of the environment: AWS_REGION, else AWS_DEFAULT_REGION. */
export function readRegion(env: Env): string | undefined {
  return readString(env, 'AWS_REGION') ?? readString(env, 'AWS_DEFAULT_REGION');
}

/** Thrown where a wrong setting must stop the work (the combiner); the runtime reports problems instead. */
export class CoverageEnvError extends Error {
  override name = 'CoverageEnvError';
  constructor(readonly problems: readonly EnvProblem[]) {
    super(problems.map((p) => p.message).join('; '));
  }
}
