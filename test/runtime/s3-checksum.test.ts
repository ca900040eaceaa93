// Why the runtime sets WHEN_REQUIRED checksums for S3-compatible stores: with the SDK's default
// (WHEN_SUPPORTED) a streamed body goes out aws-chunked with a trailing checksum, and the local S3 server
// stores that framing as the object. Real SDK, real server on 127.0.0.1, bytes read back with awscli.
import { Readable } from 'node:stream';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS, startLocalS3, type LocalS3 } from '../../scripts/local/s3.mjs';
import { parseConfig } from '../../runtime/config.js';
import { s3ClientOptions } from '../../runtime/s3.js';
import { awsGet, BUCKET } from './helpers.js';

let s3: LocalS3;
beforeAll(async () => { s3 = await startLocalS3({ buckets: [BUCKET] }); });
afterAll(async () => { await s3?.stop(); });

const body = Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3, 255, 13, 10, 0]);

async function putStreamed(options: ConstructorParameters<typeof S3Client>[0], key: string): Promise<Buffer> {
  const client = new S3Client({ ...options, credentials: LOCAL_CREDENTIALS });
  try {
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: Readable.from([body]), ContentLength: body.length }));
  } finally {
    client.destroy();
  }
  return (await awsGet(s3.endpoint, key)).bytes;
}

function runtimeOptions(env: Record<string, string>) {
  const parsed = parseConfig({ COVERAGE_ENABLED: '1', COVERAGE_S3_BUCKET: BUCKET, AWS_REGION: 'us-east-1', ...env });
  expect(parsed.ok).toBe(true);
  return s3ClientOptions(parsed.config);
}

describe('S3 client checksums', () => {
  it('the SDK default stores a streamed body corrupted on the S3-compatible server', async () => {
    const stored = await putStreamed({
      ...runtimeOptions({ COVERAGE_S3_ENDPOINT: s3.endpoint, COVERAGE_S3_FORCE_PATH_STYLE: '1' }),
      // What the runtime would get without its setting (explicit, so no AWS_* variable can change it).
      requestChecksumCalculation: 'WHEN_SUPPORTED', responseChecksumValidation: 'WHEN_SUPPORTED',
    }, 'checksum/default.bin');
    expect(stored.equals(body)).toBe(false);
    // The aws-chunked framing and its trailer became the object.
    expect(stored.toString('latin1')).toContain('x-amz-checksum-crc32:');
  });

  it('the runtime\'s settings for a custom endpoint (COVERAGE_S3_ENDPOINT) store the same stream intact', async () => {
    const options = runtimeOptions({ COVERAGE_S3_ENDPOINT: s3.endpoint, COVERAGE_S3_FORCE_PATH_STYLE: '1' });
    expect(options).toMatchObject({ requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
    expect((await putStreamed(options, 'checksum/runtime.bin')).equals(body)).toBe(true);
  });

  it('AWS_ENDPOINT_URL_S3 counts as a custom endpoint too; AWS\'s own endpoint keeps the SDK defaults', async () => {
    const sdkEndpoint = runtimeOptions({ AWS_ENDPOINT_URL_S3: s3.endpoint, COVERAGE_S3_FORCE_PATH_STYLE: '1' });
    expect(sdkEndpoint).toMatchObject({ endpoint: s3.endpoint, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED' });
    expect((await putStreamed(sdkEndpoint, 'checksum/sdk-endpoint.bin')).equals(body)).toBe(true);
    const aws = runtimeOptions({});
    expect(aws.requestChecksumCalculation).toBeUndefined();
    expect(aws.responseChecksumValidation).toBeUndefined();
    expect(aws.endpoint).toBeUndefined();
    expect(aws.forcePathStyle).toBe(false);
  });
});
