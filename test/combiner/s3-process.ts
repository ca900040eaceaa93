// The local S3 server (scripts/local/s3.mjs, s3rver) in its own Node 22 process started with
// --openssl-legacy-provider. Why: s3rver signs ListObjectsV2 continuation tokens with DES, which
// OpenSSL 3 only has in its legacy provider; in-process on Node 22 every list of more than 1,000 keys
// fails with InternalError. Paging past 1,000 objects is exactly what the combiner must be tested on.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { NODE22, ROOT } from './helpers.js';

export interface S3Process { endpoint: string; stop(): Promise<void> }

const SCRIPT = `
import { startLocalS3 } from ${JSON.stringify(`${ROOT}/scripts/local/s3.mjs`)};
const s3 = await startLocalS3({ buckets: JSON.parse(process.argv[1]) });
console.log(JSON.stringify({ endpoint: s3.endpoint }));
const stop = async () => { await s3.stop(); process.exit(0); };
process.on('SIGTERM', stop);
process.stdin.on('end', stop); // parent gone: stop too
process.stdin.resume();
`;

export async function startS3Process(buckets: string[]): Promise<S3Process> {
  const child = spawn(NODE22, ['--openssl-legacy-provider', '--input-type=module', '-e', SCRIPT, JSON.stringify(buckets)], {
    stdio: ['pipe', 'pipe', 'inherit'], cwd: ROOT,
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const endpoint = await new Promise<string>((resolveP, rejectP) => {
    const timer = setTimeout(() => rejectP(new Error('local S3 server did not start within 20 s')), 20_000);
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolveP((JSON.parse(line) as { endpoint: string }).endpoint);
    });
    child.once('exit', (code) => { clearTimeout(timer); rejectP(new Error(`local S3 server exited (${code})`)); });
  });
  return {
    endpoint,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
