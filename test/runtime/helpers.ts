import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localS3Env } from '../../scripts/local/s3.mjs';
import { startContainer, type Container } from '../../scripts/local/lambda.mjs';
import { writeFixture } from './fixtures.js';
import { selfSignedCert as localCert } from '../../scripts/local/tls.mjs';
import { buildLayer } from '../../runtime/layer-build.js';
import { decodeJsonGz, parseMaps, parseShard, type MapsDocument, type Shard } from '../../contract/format.js';

export const AWS = '/usr/bin/aws';
export const BUCKET = 'cov-bucket';

export function tempDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `lc-${name}-`));
}

/**
 * The layer as Lambda mounts it: the real zip from buildLayer(), unpacked with the system `unzip`
 * into an /opt-like directory. Needs `npm run build` (dist/runtime).
 */
export function layerOpt(): string {
  const dir = tempDir('opt');
  const zip = join(dir, 'layer.zip');
  buildLayer({ out: zip, print: () => undefined });
  const opt = join(dir, 'opt');
  mkdirSync(opt);
  execFileSync('unzip', ['-q', zip, '-d', opt]);
  rmSync(zip);
  return opt;
}

/** Coverage env for the function: local S3 + bucket. */
export function coverageEnv(endpoint: string, extra: Record<string, string> = {}): Record<string, string> {
  return { ...localS3Env(endpoint), COVERAGE_ENABLED: '1', COVERAGE_S3_BUCKET: BUCKET, ...extra };
}

function awsEnv(endpoint: string): NodeJS.ProcessEnv {
  const e = localS3Env(endpoint);
  return { PATH: '/usr/bin:/bin', HOME: tmpdir(), AWS_ACCESS_KEY_ID: e.AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: e.AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION: 'us-east-1', AWS_PAGER: '' };
}

const run = promisify(execFile);

// Async on purpose: the S3 server runs in this process, a sync child call would block it.
/** Lists keys with the independent client (Debian's awscli). */
export async function awsListKeys(endpoint: string, prefix = ''): Promise<string[]> {
  const { stdout: out } = await run(AWS, ['--endpoint-url', endpoint, 's3api', 'list-objects-v2', '--bucket', BUCKET, '--prefix', prefix, '--output', 'json'], { env: awsEnv(endpoint), encoding: 'utf8' });
  const j = out.trim() === '' ? {} : JSON.parse(out) as { Contents?: { Key: string }[] };
  return (j.Contents ?? []).map((c) => c.Key).sort();
}

/** Fetches one object with awscli; returns bytes and the head fields (SSE). */
export async function awsGet(endpoint: string, key: string): Promise<{ bytes: Buffer; head: Record<string, unknown> }> {
  const dir = tempDir('get');
  const file = join(dir, 'obj');
  try {
    const { stdout } = await run(AWS, ['--endpoint-url', endpoint, 's3api', 'get-object', '--bucket', BUCKET, '--key', key, file, '--output', 'json'], { env: awsEnv(endpoint), encoding: 'utf8' });
    return { bytes: readFileSync(file), head: JSON.parse(stdout) as Record<string, unknown> };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function awsShard(endpoint: string, key: string): Promise<Shard> {
  return parseShard(decodeJsonGz((await awsGet(endpoint, key)).bytes, key), key);
}

export async function awsMaps(endpoint: string, key: string): Promise<MapsDocument> {
  return parseMaps(decodeJsonGz((await awsGet(endpoint, key)).bytes, key), key);
}

export async function waitFor<T>(what: string, fn: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A self-signed certificate for 127.0.0.1 (scripts/local/tls.mjs) read for a TLS server; `certFile` is what NODE_EXTRA_CA_CERTS takes. */
export function selfSignedCert(): { key: string; cert: string; certFile: string } {
  const made = localCert(tempDir('tls'));
  if (made === undefined) throw new Error('openssl could not make a certificate (Debian package openssl)');
  return { key: readFileSync(made.keyFile, 'utf8'), cert: readFileSync(made.certFile, 'utf8'), certFile: made.certFile };
}

/**
 * A started container of the fixture function (the async CommonJS handler) behind the layer at `opt`,
 * sending to `endpoint`; added to `containers`, which the test file shuts down.
 */
export async function fixtureBehindLayer(o: {
  opt: string; endpoint: string; fn: string; containers: Container[]; env?: Record<string, string>; timeoutMs?: number;
}): Promise<Container> {
  const taskRoot = tempDir('task');
  const fx = writeFixture(taskRoot, 'cjs-async');
  const c = await startContainer({
    taskRoot, optDir: o.opt, handler: fx.handler, functionName: o.fn, ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
    env: coverageEnv(o.endpoint, { AWS_LAMBDA_EXEC_WRAPPER: `${o.opt}/lambda-coverage`, ...o.env }),
  });
  o.containers.push(c);
  await c.initDone;
  return c;
}
