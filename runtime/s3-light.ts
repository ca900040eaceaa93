/**
 * The light upload path: the per-invocation PUT and the maps HEAD, signed with SigV4 by aws4
 * (sigv4.ts says why that signer) and sent with node:http/node:https over one keep-alive agent, so a
 * container's first flush does not load @aws-sdk/client-s3 (~140 ms on that invocation's response and
 * +22 MB of RSS, measured). Used when the credentials are in the environment, as Lambda sets them;
 * s3.ts sends everything this does not cover (`lightPathBlocker`) through the SDK. Failures are shaped
 * like the SDK's (name = S3's error <Code>, `$metadata.httpStatusCode`) so that classifyError gives the
 * same health kinds on both paths.
 */
import type { CoverageConfig } from './config.js';
import type { ObjectStore } from './store.js';
import { sign } from './sigv4.js';

// Taken from the process, not imported: on Node 22 an ES import of node:http builds its namespace,
// whose lazy WebSocket/CloseEvent/MessageEvent getters load undici (with http2 and web streams):
// ~45 ms of CPU and several MB on the first flush, measured, for names never used. node:https
// (TLS) is taken only for an https endpoint.
const { isIP } = process.getBuiltinModule('node:net');

export interface EnvCredentials { accessKeyId: string; secretAccessKey: string; sessionToken?: string }

/** Read as the SDK's first credential source (fromEnv) reads them; on Lambda they are the execution role's. */
export function envCredentials(env: Record<string, string | undefined>): EnvCredentials | undefined {
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken } = env;
  if (!accessKeyId || !secretAccessKey) return undefined;
  return sessionToken ? { accessKeyId, secretAccessKey, sessionToken } : { accessKeyId, secretAccessKey };
}

// Partitions whose endpoints are not under amazonaws.com(.cn): left to the SDK's endpoint rules.
const ISOLATED_REGION = /^(us-iso|us-isob|us-isof|eu-isoe)-/;
const on = (v: string | undefined) => (v ?? '').trim().toLowerCase() === 'true';

/** Why this configuration goes through the SDK instead (undefined: the light path covers it). */
export function lightPathBlocker(config: CoverageConfig, env: Record<string, string | undefined>): string | undefined {
  if (config.uploadPath === 'sdk') return 'COVERAGE_UPLOAD_PATH=sdk';
  if (envCredentials(env) === undefined) return 'AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are not in the environment';
  // Directory buckets authenticate with S3 Express sessions (CreateSession), not plain SigV4.
  if (/--x-s3$/.test(config.bucket)) return 'directory buckets (S3 Express One Zone) need session authentication';
  if (!config.customEndpoint) {
    if (on(env.AWS_USE_FIPS_ENDPOINT) || on(env.AWS_USE_DUALSTACK_ENDPOINT)) return 'FIPS and dual-stack endpoints are chosen by the SDK\'s endpoint rules';
    if (ISOLATED_REGION.test(config.region ?? '')) return 'isolated partitions have their own endpoints';
  }
  return undefined;
}

export interface ObjectTarget { protocol: 'http:' | 'https:'; hostname: string; port: number | undefined; host: string; path: string }

/** RFC 3986 encoding of each key segment: what goes on the wire is exactly what SigV4 signs. */
function encodeKey(key: string): string {
  return key.split('/').map((s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)).join('/');
}

/**
 * Where an object is, by the SDK's rules: the regional endpoint (or COVERAGE_S3_ENDPOINT /
 * AWS_ENDPOINT_URL_S3), virtual-hosted style unless COVERAGE_S3_FORCE_PATH_STYLE=1, the endpoint is an
 * IP address, or a dotted bucket name would not match the TLS certificate.
 */
export function objectTarget(config: CoverageConfig, key: string): ObjectTarget {
  const region = config.region ?? 'us-east-1';
  const base = new URL(config.endpoint ?? `https://s3.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}`);
  const protocol = base.protocol === 'http:' ? 'http:' : 'https:';
  const ip = isIP(base.hostname.replace(/^\[|\]$/g, '')) !== 0;
  const virtual = !config.forcePathStyle && !ip && (protocol === 'http:' || !config.bucket.includes('.'));
  const hostname = virtual ? `${config.bucket}.${base.hostname}` : base.hostname;
  const root = base.pathname.replace(/\/+$/, '');
  return {
    protocol, hostname, port: base.port === '' ? undefined : Number(base.port),
    host: base.port === '' ? hostname : `${hostname}:${base.port}`,
    path: `${root}/${virtual ? '' : `${config.bucket}/`}${encodeKey(key)}`,
  };
}

/** An S3 error answer, named as the SDK names it: by the XML body's Code, else by the HTTP status. */
export class S3ResponseError extends Error {
  readonly $metadata: { httpStatusCode: number; requestId?: string };
  constructor(name: string, message: string, status: number, requestId: string | undefined) {
    super(message);
    this.name = name;
    this.$metadata = requestId === undefined ? { httpStatusCode: status } : { httpStatusCode: status, requestId };
  }
}

const STATUS_NAMES: Record<number, string> = {
  301: 'PermanentRedirect', 400: 'BadRequest', 403: 'Forbidden', 404: 'NotFound', 500: 'InternalError', 503: 'ServiceUnavailable',
};
const XML_ENTITIES: Record<string, string> = { '&lt;': '<', '&gt;': '>', '&amp;': '&', '&quot;': '"', '&apos;': "'" };
/** S3 error bodies are ~300 bytes; the rest (StringToSign, CanonicalRequest, ...) is never kept. */
const MAX_ERROR_BODY = 16 * 1024;

/** Only S3's Code and Message are taken from the body: nothing else of it reaches a log or health. */
export function s3ErrorFrom(status: number, body: string, requestId: string | undefined): S3ResponseError {
  const code = /<Code>([\w.:-]{1,100})<\/Code>/.exec(body)?.[1];
  const message = /<Message>([^<]{1,300})/.exec(body)?.[1]?.replace(/&(lt|gt|amp|quot|apos);/g, (m) => XML_ENTITIES[m]!);
  const name = code ?? STATUS_NAMES[status] ?? `Http${status}`;
  return new S3ResponseError(name, message ?? `S3 answered HTTP ${status}`, status, requestId);
}

interface Answer { status: number; body: string; requestId: string | undefined }

export function createLightStore(config: CoverageConfig, credentials: EnvCredentials): ObjectStore {
  const region = config.region ?? 'us-east-1';
  const https = objectTarget(config, '').protocol === 'https:';
  // One agent for the container's life: warm flushes reuse the connection (free sockets are unref'd,
  // so they never keep a callback handler's event loop alive).
  const lib = https ? process.getBuiltinModule('node:https') : process.getBuiltinModule('node:http');
  const agent = new lib.Agent({ keepAlive: true, maxSockets: 8 });
  const send = lib.request;
  const owner: Record<string, string> = config.expectedBucketOwner !== undefined ? { 'X-Amz-Expected-Bucket-Owner': config.expectedBucketOwner } : {};

  function call(method: 'PUT' | 'HEAD', key: string, headers: Record<string, string>, body: Buffer | undefined, signal: AbortSignal): Promise<Answer> {
    const t = objectTarget(config, key);
    const signed = sign({ service: 's3', region, method, host: t.hostname, path: t.path, headers: { Host: t.host, ...headers }, ...(body !== undefined ? { body } : {}) }, credentials);
    const once = (retried: boolean) => new Promise<Answer>((resolve, reject) => {
      let settled = false;
      const fail = (err: unknown) => { if (!settled) { settled = true; reject(err); } };
      const req = send({ protocol: t.protocol, hostname: t.hostname, port: t.port, method, path: signed.path, headers: signed.headers, agent, signal }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => { if (size < MAX_ERROR_BODY) { chunks.push(c); size += c.length; } });
        res.on('end', () => {
          if (settled) return;
          settled = true;
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8', 0, MAX_ERROR_BODY), requestId: res.headers['x-amz-request-id'] as string | undefined });
        });
        res.on('error', fail);
        res.on('close', () => { if (!res.complete) fail(new Error('S3 closed the connection before the answer was complete')); });
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        // A kept-alive socket the server closed while the sandbox was frozen: retried once at once,
        // as Node's documentation advises (request.reusedSocket); PUT and HEAD are idempotent.
        if (!settled && !retried && req.reusedSocket && !signal.aborted && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) {
          settled = true;
          resolve(once(true));
        } else {
          fail(err);
        }
      });
      req.end(body);
    });
    return once(false);
  }

  return {
    async put(key, body, { contentType, signal }) {
      const a = await call('PUT', key, {
        'Content-Type': contentType,
        'X-Amz-Server-Side-Encryption': config.sse,
        ...(config.sse === 'aws:kms' && config.kmsKeyId !== undefined ? { 'X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id': config.kmsKeyId } : {}),
        ...owner,
      }, Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength), signal);
      if (a.status < 200 || a.status >= 300) throw s3ErrorFrom(a.status, a.body, a.requestId);
    },
    async exists(key, signal) {
      const a = await call('HEAD', key, { ...owner }, undefined, signal);
      if (a.status >= 200 && a.status < 300) return true;
      if (a.status === 404) return false;
      // Without s3:ListBucket, S3 answers 403 for a missing key: we cannot tell, so write.
      if (a.status === 403) return undefined;
      throw s3ErrorFrom(a.status, a.body, a.requestId);
    },
  };
}
