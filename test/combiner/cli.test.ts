// The built bin (dist/combiner/cli.js) as a real child process: real argv, environment, exit codes,
// against the real local S3 server; what it uploads is listed with the aws CLI.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localS3Env } from '../../scripts/local/s3.mjs';
import { encodeJsonGz } from '../../contract/format.js';
import { APP, NODE22, ROOT, instrument, invoke, localClient, putShard, runContainer, toShard, writeShardFiles } from './helpers.js';
import { startS3Process, type S3Process } from './s3-process.js';

const CLI = join(ROOT, 'dist/combiner/cli.js');
let s3: S3Process;
let work: string;

function bin(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolveP) => {
    execFile(NODE22, [CLI, ...args], { cwd: work, env: { PATH: process.env.PATH ?? '', HOME: work, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolveP({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  // The command line is main.ts and the command modules it dispatches to.
  const sources = ['combiner/main.ts', ...readdirSync(join(ROOT, 'combiner/commands')).map((f) => `combiner/commands/${f}`)];
  if (!existsSync(CLI) || sources.some((f) => statSync(CLI).mtimeMs < statSync(join(ROOT, f)).mtimeMs)) {
    throw new Error('dist/combiner/cli.js is missing or older than combiner/: run `npm run build` first (npm test does)');
  }
  work = mkdtempSync(join(tmpdir(), 'lc-comb-cli-'));
  s3 = await startS3Process(['cov']);
  const client = localClient(s3.endpoint);
  const code = instrument();
  for (let c = 0; c < 3; c++) await putShard(client, 'cov', 'coverage/', toShard(runContainer(code, (m) => invoke(m, c)), { containerId: `c${c}` }), c === 0);
  client.destroy();
});

afterAll(async () => {
  await s3?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('lambda-coverage bin (child process)', () => {
  it('is an executable Node script', () => {
    expect(readFileSync(CLI, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
    expect(statSync(CLI).mode & 0o111).not.toBe(0);
  });

  it('combines from S3 with flags like the aws CLI, uploads the reports, and exits 1 below a threshold', async () => {
    const { COVERAGE_S3_ENDPOINT: _e, COVERAGE_S3_FORCE_PATH_STYLE: _f, ...creds } = localS3Env(s3.endpoint);
    const r = await bin(['combine', '--bucket', 'cov', '--endpoint-url', s3.endpoint, '--force-path-style', '--region', 'us-east-1',
      '--upload', '--run-id', 'ci-42', '--source-root', APP, '--check-coverage', '--lines', '99', '--branches', '10'], creds);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/=+ Coverage summary =+\nStatements\s+: [\d.]+%/);
    const summary = JSON.parse(readFileSync(join(work, 'coverage/coverage-summary.json'), 'utf8')).total;
    expect(r.stderr).toContain(`ERROR: Coverage for lines (${summary.lines.pct}%) does not meet threshold (99%)`);
    expect(r.stderr).not.toMatch(/ERROR: Coverage for branches/);
    expect(r.stderr).toMatch(/read 3 shards .* from 1 function \(orders\)/);
    const uploaded = /uploaded (\d+) files to s3:\/\/cov\/coverage\/combined\/ci-42\//.exec(r.stderr);
    expect(uploaded, r.stderr).not.toBeNull();
    // Listed independently with the aws CLI.
    const ls = await new Promise<string>((resolveP, rejectP) => execFile('/usr/bin/aws', ['--endpoint-url', s3.endpoint, 's3', 'ls', '--recursive', 's3://cov/coverage/combined/ci-42/'],
      { env: { ...process.env, ...creds } }, (err, stdout) => (err ? rejectP(err) : resolveP(stdout))));
    const keys = ls.trim().split('\n').map((l) => l.trim().split(/\s+/).pop());
    expect(keys).toHaveLength(Number(uploaded![1]));
    expect(keys).toEqual(expect.arrayContaining(['coverage/combined/ci-42/lcov.info', 'coverage/combined/ci-42/index.html', 'coverage/combined/ci-42/coverage-final.json']));
  });

  it('takes the endpoint from COVERAGE_S3_ENDPOINT / COVERAGE_S3_FORCE_PATH_STYLE and exits 0', async () => {
    const r = await bin(['combine', '--bucket', 'cov', '--out', 'env-run', '--reporter', 'json-summary', '--check-coverage', '--lines', '50'], localS3Env(s3.endpoint));
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(work, 'env-run/coverage-summary.json'))).toBe(true);
  });

  it('fails with exit 2 and a message (stack only with --verbose) when S3 cannot be reached', async () => {
    const env = { ...localS3Env('http://127.0.0.1:9'), COVERAGE_S3_ENDPOINT: 'http://127.0.0.1:9' };
    const r = await bin(['combine', '--bucket', 'cov', '--timeout', '1', '--out', 'x'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/lambda-coverage: error: s3:\/\/cov\/coverage\/: cannot reach S3 .*ECONNREFUSED.*check --endpoint-url/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const v = await bin(['combine', '--bucket', 'cov', '--timeout', '1', '--out', 'x', '--verbose'], env);
    expect(v.code).toBe(2);
    expect(v.stderr).toMatch(/\n\s+at /);
  });

  it('decodes on worker threads (the built worker) exactly as on the main thread, refusing the same corrupt shards', async () => {
    const code = instrument();
    const root = join(work, 'threads-in');
    for (let c = 0; c < 40; c++) writeShardFiles(root, 'coverage/', toShard(runContainer(code, (m) => invoke(m, c)), { containerId: `c${c}` }));
    const dir = join(root, 'coverage/orders/shards');
    const good = readFileSync(join(dir, 'c0.json.gz'));
    writeFileSync(join(dir, 'truncated.json.gz'), good.subarray(0, 30));
    const bad = toShard(runContainer(code, (m) => invoke(m, 1)), { containerId: 'neg' });
    (bad.shard.files['src/calc.js']!.s as number[])[0] = -4;
    writeFileSync(join(dir, 'negative.json.gz'), encodeJsonGz(bad.shard));
    const runs = [];
    for (const threads of ['0', '2']) {
      const r = await bin(['combine', '--dir', 'threads-in', '--out', `threads-${threads}`, '--reporter', 'json', '--threads', threads]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/read 40 shards/);
      expect(r.stderr).toMatch(/truncated\.json\.gz: not valid gzip/);
      expect(r.stderr).toMatch(/negative\.json\.gz: file "src\/calc\.js": "s" must be an array of non-negative integers/);
      runs.push(readFileSync(join(work, `threads-${threads}/coverage-final.json`), 'utf8'));
    }
    expect(runs[1]).toBe(runs[0]);
  });

  it.runIf(existsSync('/usr/bin/script'))('draws the progress bar on a real terminal (a pty from script(1)), not when CI is set', async () => {
    const code = instrument();
    for (let c = 0; c < 3; c++) writeShardFiles(join(work, 'tty-in'), 'coverage/', toShard(runContainer(code, (m) => invoke(m, c)), { containerId: `t${c}` }));
    const inPty = (env: Record<string, string>) => new Promise<string>((resolveP, rejectP) => {
      const cmd = [NODE22, CLI, 'combine', '--dir', 'tty-in', '--out', 'tty-out', '--reporter', 'none'].map((a) => `'${a}'`).join(' ');
      execFile('/usr/bin/script', ['-qec', cmd, '/dev/null'], { cwd: work, env: { PATH: process.env.PATH ?? '', HOME: work, ...env }, timeout: 60_000 },
        (err, stdout) => (err ? rejectP(err) : resolveP(stdout)));
    });
    const tty = await inPty({});
    expect(tty).toMatch(/\r\[#+\] 3\/3 inputs/);
    expect(tty).toMatch(/read 3 shards/);
    const ci = await inPty({ CI: 'true' });
    expect(ci).not.toMatch(/\[#+-*\] \d+\/\d+/);
    expect(ci).toMatch(/read 3 shards/);
  });

  it('builds the Lambda layer zip with `layer --out`', async () => {
    const r = await bin(['layer', '--out', 'dist/layer.zip']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/lambda-coverage layer: .*dist\/layer\.zip/);
    const listing = await new Promise<string>((resolveP, rejectP) => execFile('unzip', ['-l', join(work, 'dist/layer.zip')], (err, out) => (err ? rejectP(err) : resolveP(out))));
    expect(listing).toMatch(/\blambda-coverage\n/);
  });

  it('says what to check for wrong credentials and a missing bucket (exit 2)', async () => {
    const wrong = await bin(['combine', '--bucket', 'cov'], { ...localS3Env(s3.endpoint), AWS_ACCESS_KEY_ID: 'WRONG', AWS_SECRET_ACCESS_KEY: 'nope' });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/s3:\/\/cov\/coverage\/: access denied \((InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied)\); check the credentials/);
    const missing = await bin(['combine', '--bucket', 'no-such-bucket'], localS3Env(s3.endpoint));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/bucket "no-such-bucket" does not exist \(check --bucket, --region and --endpoint-url\)/);
  });

  it('says when there are no AWS credentials (exit 2)', async () => {
    const r = await bin(['combine', '--bucket', 'cov', '--endpoint-url', s3.endpoint, '--force-path-style'], { AWS_CONFIG_FILE: join(work, 'none'), AWS_SHARED_CREDENTIALS_FILE: join(work, 'none'), AWS_EC2_METADATA_DISABLED: 'true' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/lambda-coverage: error: s3:\/\/cov\/coverage\/: no AWS credentials found; set AWS_PROFILE/);
  });

  it('answers --help, --version and a missing command', async () => {
    const help = await bin(['combine', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--check-coverage/);
    const version = await bin(['--version']);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
    const none = await bin([]);
    expect(none.code).toBe(2);
    expect(none.stdout).toMatch(/Commands\n\s+combine/);
  });
});
