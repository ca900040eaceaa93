/**
 * The S3 edge: list, get, put. Nothing here knows coverage. Retries are ours (the client is built
 * with one attempt) so every call has the same timeout-per-attempt and backoff, and tests can see them.
 */
import type { ListObjectsV2CommandOutput, S3Client } from '@aws-sdk/client-s3';
import { CoverageEnvError, readFlag, readRegion, readS3Endpoint, type EnvProblem } from '../runtime/env.js';
import { ShardFormatError, checkStoredSize, type ByteBound, type InputLimits } from '../contract/format.js';

type Sdk = typeof import('@aws-sdk/client-s3');
let sdkPromise: Promise<Sdk> | undefined;
/** The SDK is loaded on first use: `--dir` runs and the pure core never pay for it. */
function sdk(): Promise<Sdk> {
  return (sdkPromise ??= import('@aws-sdk/client-s3'));
}

export interface S3Settings {
  /** `--endpoint-url`, else COVERAGE_S3_ENDPOINT, else AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL (as the runtime). */
  endpointUrl?: string;
  /** `--force-path-style`, else the flag COVERAGE_S3_FORCE_PATH_STYLE (read as the runtime reads it). */
  forcePathStyle?: boolean;
  /** `--region`, else AWS_REGION / AWS_DEFAULT_REGION, else us-east-1 (redirects to the bucket's region are followed). */
  region?: string;
}

export interface RetryOptions {
  /** Attempts per request. @default 4 */
  attempts?: number;
  /** Time allowed for one attempt, including reading the body (ms). @default 30000 */
  timeoutMs?: number;
  /** First backoff (ms), doubled each retry, with jitter. @default 200 */
  baseDelayMs?: number;
  /** Told about each retry (for the summary and tests). */
  onRetry?: (what: string, attempt: number, error: unknown) => void;
}

export class S3AccessError extends Error {
  override name = 'S3AccessError';
}

/**
 * Flags first, then the environment, read by runtime/env.ts as the functions read it. A variable that is
 * consulted and wrong (COVERAGE_S3_FORCE_PATH_STYLE=maybe, COVERAGE_S3_ENDPOINT without http://) throws
 * CoverageEnvError naming it: a guess would talk to the wrong place.
 */
export function resolveS3Settings(opts: S3Settings, env: NodeJS.ProcessEnv): Required<Pick<S3Settings, 'region' | 'forcePathStyle'>> & { endpointUrl: string | undefined } {
  const problems: EnvProblem[] = [];
  const endpointUrl = opts.endpointUrl ?? readS3Endpoint(env, problems);
  const forcePathStyle = opts.forcePathStyle ?? readFlag(env, 'COVERAGE_S3_FORCE_PATH_STYLE', problems);
  if (problems.length > 0) throw new CoverageEnvError(problems);
  return { endpointUrl, forcePathStyle, region: opts.region ?? readRegion(env) ?? 'us-east-1' };
}

export async function createS3Client(opts: S3Settings, env: NodeJS.ProcessEnv = process.env): Promise<S3Client> {
  const s = resolveS3Settings(opts, env);
  const { S3Client } = await sdk();
  // An environment handed in (not this process's): its static credentials, if any, are the ones to use.
  const credentials = env !== process.env && env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
    ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) }
    : undefined;
  return new S3Client({
    ...(credentials ? { credentials } : {}),
    region: s.region,
    forcePathStyle: s.forcePathStyle,
    followRegionRedirects: true,
    maxAttempts: 1,
    ...(s.endpointUrl
      ? {
        endpoint: s.endpointUrl,
        // S3-compatible stores (MinIO, LocalStack, s3rver) mishandle the SDK's default CRC trailers.
        requestChecksumCalculation: 'WHEN_REQUIRED' as const,
        responseChecksumValidation: 'WHEN_REQUIRED' as const,
      }
      : {}),
  });
}

interface AwsLikeError { name?: string; code?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown }

export function errorName(e: unknown): string {
  const err = e as AwsLikeError;
  return err?.name ?? err?.code ?? 'Error';
}

export function isNotFound(e: unknown): boolean {
  const name = errorName(e);
  return name === 'NoSuchKey' || name === 'NotFound' || (e as AwsLikeError)?.$metadata?.httpStatusCode === 404 && name !== 'NoSuchBucket';
}

function isRetryable(e: unknown): boolean {
  if (e instanceof ShardFormatError) return false;
  const err = e as AwsLikeError & { message?: string };
  const status = err?.$metadata?.httpStatusCode;
  if (status !== undefined) return status >= 500 || status === 429 || status === 408;
  const name = errorName(e);
  if (['NoSuchKey', 'NoSuchBucket', 'AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'CredentialsProviderError'].includes(name)) return false;
  // Network failures (ECONNRESET, ECONNREFUSED, socket hang up) and our own per-attempt timeout.
  return true;
}

class AttemptTimeout extends Error {
  override name = 'TimeoutError';
}

export async function withRetry<T>(what: string, fn: (signal: AbortSignal) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const attempts = opts.attempts ?? 4;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const base = opts.baseDelayMs ?? 200;
  for (let attempt = 1; ; attempt++) {
    const ac = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    try {
      const deadline = new Promise<never>((_, rejectP) => {
        timer = setTimeout(() => {
          const err = new AttemptTimeout(`${what}: no complete response within ${timeoutMs} ms`);
          ac.abort(err);
          rejectP(err);
        }, timeoutMs);
      });
      return await Promise.race([fn(ac.signal), deadline]);
    } catch (e) {
      if (attempt >= attempts || !isRetryable(e)) throw e;
      opts.onRetry?.(what, attempt, e);
      const delay = base * 2 ** (attempt - 1) * (0.5 + Math.random());
      await new Promise((r) => setTimeout(r, delay));
    } finally {
      clearTimeout(timer);
    }
  }
}

export interface ListedObject {
  key: string;
  /** LastModified, ms. */
  time: number;
  size: number;
}

async function* listPages(client: S3Client, bucket: string, prefix: string, delimiter: string | undefined, retry: RetryOptions, startAfter?: string): AsyncGenerator<ListObjectsV2CommandOutput> {
  const { ListObjectsV2Command } = await sdk();
  let token: string | undefined;
  for (let page = 0; page < 1_000_000; page++) {
    const out = await withRetry(`list s3://${bucket}/${prefix}`, (abortSignal) => client.send(new ListObjectsV2Command({
      Bucket: bucket, Prefix: prefix, Delimiter: delimiter, ContinuationToken: token,
      ...(startAfter !== undefined && token === undefined ? { StartAfter: startAfter } : {}),
    }), { abortSignal }), retry).catch((e: unknown) => { throw explainAccess(e, bucket, prefix); });
    yield out;
    if (!out.IsTruncated || !out.NextContinuationToken) return;
    token = out.NextContinuationToken;
  }
}

export interface ListRange {
  /** Only keys after this one. */
  startAfter?: string;
  /** Stop at the first key ≥ this one (keys come in UTF-8 order, so later pages are not fetched). */
  stopAt?: string;
}

export async function* listObjects(client: S3Client, bucket: string, prefix: string, retry: RetryOptions = {}, range: ListRange = {}): AsyncGenerator<ListedObject> {
  for await (const page of listPages(client, bucket, prefix, undefined, retry, range.startAfter)) {
    for (const o of page.Contents ?? []) {
      if (!o.Key) continue;
      if (range.stopAt !== undefined && o.Key >= range.stopAt) return;
      yield { key: o.Key, time: o.LastModified?.getTime() ?? 0, size: o.Size ?? 0 };
    }
  }
}

/**
 * The object's bytes, or null when it does not exist (deleted after it was listed). With `bound`, an
 * object stored larger than it is refused (ShardFormatError) from its Content-Length, before its body
 * is read.
 */
export async function getObjectBytes(client: S3Client, bucket: string, key: string, retry: RetryOptions = {}, bound?: SizeBound): Promise<Uint8Array | null> {
  const { GetObjectCommand } = await sdk();
  try {
    return await withRetry(`get s3://${bucket}/${key}`, async (abortSignal) => {
      const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal });
      if (!out.Body) throw new Error('empty response body');
      if (bound && out.ContentLength !== undefined && out.ContentLength > bound.limits[bound.name]) {
        (out.Body as { destroy?: () => void }).destroy?.();
        checkStoredSize(out.ContentLength, `s3://${bucket}/${key}`, bound.limits, bound.name);
      }
      const bytes = await out.Body.transformToByteArray();
      if (bound) checkStoredSize(bytes.length, `s3://${bucket}/${key}`, bound.limits, bound.name);
      return bytes;
    }, retry);
  } catch (e) {
    if (isNotFound(e)) return null;
    if (e instanceof ShardFormatError) throw e;
    throw explainAccess(e, bucket, key);
  }
}

/** Which bound of `limits` an object's stored size is held to. */
export interface SizeBound { limits: InputLimits; name: ByteBound }

export async function putObject(client: S3Client, bucket: string, key: string, body: Uint8Array | string, contentType: string, retry: RetryOptions = {}): Promise<void> {
  const { PutObjectCommand } = await sdk();
  await withRetry(`put s3://${bucket}/${key}`, (abortSignal) => client.send(new PutObjectCommand({
    Bucket: bucket, Key: key, Body: body, ContentType: contentType,
  }), { abortSignal }), retry).catch((e: unknown) => { throw explainAccess(e, bucket, key); });
}

/** Turns SDK errors into a sentence that says what to check. */
export function explainAccess(e: unknown, bucket: string, key: string): Error {
  if (e instanceof S3AccessError) return e;
  const name = errorName(e);
  const msg = (e as Error)?.message ?? String(e);
  const where = `s3://${bucket}/${key}`;
  let hint: string;
  if (name === 'NoSuchBucket') hint = `bucket "${bucket}" does not exist (check --bucket, --region and --endpoint-url)`;
  else if (name === 'AccessDenied' || name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch' || name === 'Forbidden') {
    hint = `access denied (${name}); check the credentials and that they allow s3:ListBucket, s3:GetObject (and s3:PutObject for --upload)`;
  } else if (name === 'CredentialsProviderError') {
    hint = 'no AWS credentials found; set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where a role is attached';
  } else if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ECONNRESET|socket hang up/i.test(msg) || name === 'TimeoutError') {
    hint = `cannot reach S3 (${msg}); check --endpoint-url / COVERAGE_S3_ENDPOINT and the network`;
  } else hint = `${name}: ${msg}`;
  return new S3AccessError(`${where}: ${hint}`, { cause: e });
}
