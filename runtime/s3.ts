/**
 * The only code that talks to S3: put and head, on one of two paths chosen once per container
 * (`chooseUploadPath`). The light path (s3-light.ts) signs its own requests and needs no SDK; the SDK
 * path requires `@aws-sdk/client-s3` lazily with createRequire, so the Lambda runtime's own SDK v3 is
 * used (the layer does not ship one) and its ~140 ms load is paid on the first upload, never at cold
 * start. Both report failures through classifyError, so health shows the same kinds.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { CoverageConfig } from './config.js';
import { createLightStore, envCredentials, lightPathBlocker } from './s3-light.js';

import type { ObjectStore } from './store.js';

export type { ObjectStore, PutOptions } from './store.js';

/** A failure with the kind the health check and the once-per-kind log use. */
export class UploadError extends Error {
  override name = 'UploadError';
  constructor(message: string, readonly kind: string, readonly retryable: boolean, options?: { cause?: unknown }) {
    super(message, options);
  }
}

interface SdkError { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown }

/**
 * What to do about each S3 error code the layer knows, in its own words: the log line and the health
 * check (runtime/health-wording.ts) both say it. These codes are never retried.
 */
export const UPLOAD_HINTS: ReadonlyMap<string, string> = new Map(Object.entries({
  NoSuchBucket: 'the bucket does not exist; create it or fix COVERAGE_S3_BUCKET',
  AccessDenied: 'access denied; give the function role s3:PutObject on the coverage prefix (and kms:GenerateDataKey with aws:kms)',
  InvalidAccessKeyId: 'the credentials are not valid for this S3 endpoint',
  SignatureDoesNotMatch: 'the secret key does not match the access key',
  ExpiredToken: 'the session token has expired',
  InvalidBucketName: 'the bucket name is not valid',
  PermanentRedirect: 'the bucket is in another region; set AWS_REGION or use a bucket in the function\'s region',
  AuthorizationHeaderMalformed: 'the request region does not match the bucket\'s region',
  CredentialsProviderError: 'no AWS credentials were found (on Lambda they come from the execution role)',
  KMS_AccessDenied: 'the role may not use the KMS key named by COVERAGE_S3_KMS_KEY_ID',
}));

/** Maps an SDK/network error to a stable kind and whether trying again can help. */
export function classifyError(err: unknown, timedOut: boolean): UploadError {
  if (err instanceof UploadError) return err;
  const e = (err ?? {}) as SdkError;
  const name = e.name ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  if (timedOut || name === 'AbortError' || name === 'TimeoutError') {
    return new UploadError('S3 did not answer within the time left for this upload', 'upload:timeout', true, { cause: err });
  }
  const code = e.code ?? (err as { cause?: { code?: string } })?.cause?.code;
  // Node's codes for a certificate it does not accept (self-signed, expired, another host's name): a
  // setup problem (COVERAGE_S3_ENDPOINT, NODE_EXTRA_CA_CERTS) that trying again does not change.
  if (code !== undefined && /CERT|ERR_TLS_|ERR_SSL_|^UNABLE_TO_(?:VERIFY|GET)/.test(code)) {
    return new UploadError(`S3's TLS certificate is not accepted (${code}): ${e.message ?? ''}`.trim(), 'upload:tls', false, { cause: err });
  }
  if (code !== undefined && /^E[A-Z]+/.test(code)) {
    return new UploadError(`cannot reach S3 (${code}): ${e.message ?? ''}`.trim(), 'upload:network', true, { cause: err });
  }
  const hint = UPLOAD_HINTS.get(name);
  if (hint !== undefined) return new UploadError(`${name}: ${hint}`, `upload:${name}`, false, { cause: err });
  const retryable = status === undefined || status >= 500 || status === 429 || name === 'SlowDown' || name === 'RequestTimeout';
  return new UploadError(`${name}${status ? ` (HTTP ${status})` : ''}: ${e.message ?? 'upload failed'}`, `upload:${name}`, retryable, { cause: err });
}

type S3Module = typeof import('@aws-sdk/client-s3');

/** The runtime's SDK first (NODE_PATH includes /var/runtime/node_modules), then the function's own. */
export function loadS3Module(taskRoot: string | undefined): S3Module {
  const tried: string[] = [];
  for (const from of [import.meta.url, taskRoot ? join(taskRoot, 'noop.js') : undefined]) {
    if (from === undefined) continue;
    try {
      return createRequire(from)('@aws-sdk/client-s3') as S3Module;
    } catch (err) {
      tried.push(`${from}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  throw new UploadError(
    `@aws-sdk/client-s3 cannot be loaded (the managed Node.js runtimes ship it; with a custom runtime add it to the function): ${tried.join('; ')}`,
    'upload:sdk-missing', false,
  );
}

/**
 * The S3 client's settings. S3-compatible stores mishandle the SDK's default checksums on streamed
 * bodies (aws-chunked with a trailing checksum: the local test server stores the framing as the object),
 * so a custom endpoint gets `WHEN_REQUIRED`; AWS's own endpoint keeps the SDK's integrity checks.
 */
export function s3ClientOptions(config: CoverageConfig): import('@aws-sdk/client-s3').S3ClientConfig {
  return {
    region: config.region ?? 'us-east-1',
    ...(config.endpoint !== undefined ? { endpoint: config.endpoint } : {}),
    forcePathStyle: config.forcePathStyle,
    // Our own retry loop (bounded by the time left) replaces the SDK's.
    maxAttempts: 1,
    ...(config.customEndpoint ? { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' } : {}),
  };
}

/** `light`: aws4-signed requests over node:https; `sdk`: `@aws-sdk/client-s3` (health's `upload_path`). */
export type UploadPath = 'light' | 'sdk';

/** Which path this container uploads on, and why not the light one (`why` is null when it is). */
export function chooseUploadPath(config: CoverageConfig, env: Record<string, string | undefined>): { path: UploadPath; why: string | null } {
  const why = lightPathBlocker(config, env);
  return why === undefined ? { path: 'light', why: null } : { path: 'sdk', why };
}

/** The store for `path`; credentials are read from `env` as the SDK reads them (process.env). */
export function createS3Store(config: CoverageConfig, taskRoot: string | undefined, path: UploadPath = 'sdk', env: Record<string, string | undefined> = process.env): ObjectStore {
  const credentials = path === 'light' ? envCredentials(env) : undefined;
  return credentials !== undefined ? createLightStore(config, credentials) : createSdkStore(config, taskRoot);
}

export function createSdkStore(config: CoverageConfig, taskRoot: string | undefined): ObjectStore {
  let client: import('@aws-sdk/client-s3').S3Client | undefined;
  let sdk: S3Module | undefined;
  const get = () => {
    if (client === undefined || sdk === undefined) {
      sdk = loadS3Module(taskRoot);
      client = new sdk.S3Client(s3ClientOptions(config));
    }
    return { client, sdk };
  };
  const owner = config.expectedBucketOwner !== undefined ? { ExpectedBucketOwner: config.expectedBucketOwner } : {};
  return {
    async put(key, body, { contentType, signal }) {
      const { client: c, sdk: s } = get();
      await c.send(new s.PutObjectCommand({
        Bucket: config.bucket, Key: key, Body: body, ContentType: contentType,
        ServerSideEncryption: config.sse,
        ...(config.sse === 'aws:kms' && config.kmsKeyId !== undefined ? { SSEKMSKeyId: config.kmsKeyId } : {}),
        ...owner,
      }), { abortSignal: signal });
    },
    async exists(key, signal) {
      const { client: c, sdk: s } = get();
      try {
        await c.send(new s.HeadObjectCommand({ Bucket: config.bucket, Key: key, ...owner }), { abortSignal: signal });
        return true;
      } catch (err) {
        const e = err as SdkError;
        if (e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404) return false;
        // Without s3:ListBucket, S3 answers 403 for a missing key: we cannot tell, so write.
        if (e.$metadata?.httpStatusCode === 403) return undefined;
        throw err;
      }
    },
  };
}
