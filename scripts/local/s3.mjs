// A real S3-API server on 127.0.0.1 (s3rver), for the tests, the demo and the benchmarks.
// The AWS SDK and the aws CLI talk HTTP to it exactly as they would to S3.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

/** Credentials the local server accepts (s3rver's fixed pair). */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
export const LOCAL_REGION = 'us-east-1';

/**
 * Starts a server with the given buckets. `port: 0` picks a free port.
 * @param {{ buckets?: string[], port?: number, directory?: string }} [options]
 * @returns {Promise<{ endpoint: string, port: number, directory: string, stop: () => Promise<void> }>}
 */
export async function startLocalS3({ buckets = [], port = 0, directory } = {}) {
  const dir = directory ?? mkdtempSync(join(tmpdir(), 'lc-s3-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port,
    silent: true,
    directory: dir,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const addr = await server.run();
  const endpoint = `http://127.0.0.1:${addr.port}`;
  let stopped = false;
  return {
    endpoint,
    port: addr.port,
    directory: dir,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await server.close();
      if (!directory) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Environment for a child process (runtime, combiner, aws CLI) to reach the local server. */
export function localS3Env(endpoint) {
  return {
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_REGION: LOCAL_REGION,
    AWS_DEFAULT_REGION: LOCAL_REGION,
    COVERAGE_S3_ENDPOINT: endpoint,
    COVERAGE_S3_FORCE_PATH_STYLE: '1',
    // The local server stores streamed (aws-chunked) bodies corrupted unless checksums are off.
    AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
    AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
  };
}
