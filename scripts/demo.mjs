// npm run demo — the whole job on the built-in example, with no AWS account:
//   1. build examples/basic with coverageInstrument() (COVERAGE_ENABLED=1)
//   2. build the layer zip and lay it out as Lambda mounts it (/opt)
//   3. start a local S3-API server and local Lambda containers (Runtime API on 127.0.0.1) that use the
//      layer exactly as Lambda does: AWS_LAMBDA_EXEC_WRAPPER=/opt/lambda-coverage, _HANDLER=index.handler
//   4. send the fixed events of examples/basic/events.mjs (some fail on purpose) and a health check
//   5. run `lambda-coverage combine` against the local bucket
//   6. print the per-file table and totals and where the HTML report is; stop everything
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EVENTS, FUNCTIONS } from '../examples/basic/events.mjs';
import { buildLayer, writeLayerTree } from '../dist/runtime/layer-build.js';
import { startContainer } from './local/lambda.mjs';
import { LOCAL_CREDENTIALS, LOCAL_REGION, localS3Env, startLocalS3 } from './local/s3.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BUCKET = 'demo-coverage';

/**
 * Runs the demo. Returns where things are, for the test that checks the numbers.
 * @param {{ work?: string, out?: string, log?: (line: string) => void, runtime?: 'auto' | 'ric' | 'js' }} [options]
 */
export async function runDemo({ work = join(ROOT, '.demo'), out = join(ROOT, 'coverage'), log = console.log, runtime = 'auto' } = {}) {
  const t0 = Date.now();
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const functionsDir = join(work, 'functions');

  log('1/6 building examples/basic with coverageInstrument() (COVERAGE_ENABLED=1)');
  const built = spawnSync(process.execPath, [join(ROOT, 'examples/basic/build.mjs'), functionsDir], {
    encoding: 'utf8',
    env: { ...process.env, COVERAGE_ENABLED: '1' },
  });
  if (built.status !== 0) throw new Error(`building examples/basic failed:\n${built.stderr}`);
  // Keep the plugin's end-of-build lines; esbuild's file listing is noise here.
  for (const line of built.stderr.split('\n')) if (line.startsWith('lambda-coverage:')) log(`    ${line.replace(/ \[.*$/, '')}`);

  log('2/6 building the layer and laying it out as /opt');
  const layer = buildLayer({ out: join(work, 'lambda-coverage-layer.zip'), print: () => undefined });
  const opt = join(work, 'opt');
  writeLayerTree(opt);
  log(`    ${relative(ROOT, layer.out)}: ${(layer.bytes / 1024).toFixed(1)} KB, ${layer.files.length} files`);

  let s3;
  const started = [];
  try {
    log('3/6 starting the local S3 server and the Lambda containers');
    s3 = await startLocalS3({ buckets: [BUCKET] });
    // Started side by side, as Lambda starts sandboxes for concurrent requests.
    const slots = FUNCTIONS.flatMap((fn) => Array.from({ length: fn.containers }, (_, i) => ({ fn, i })));
    // allSettled: if one fails to start, the others have still started and must be stopped below.
    const settled = await Promise.allSettled(slots.map(async ({ fn, i }) => {
      const c = await startContainer({
        taskRoot: join(functionsDir, fn.name),
        optDir: opt,
        handler: 'index.handler',
        functionName: `demo-${fn.name}`,
        runtime,
        env: {
          ...localS3Env(s3.endpoint),
          COVERAGE_ENABLED: '1',
          COVERAGE_S3_BUCKET: BUCKET,
          AWS_LAMBDA_EXEC_WRAPPER: join(opt, 'lambda-coverage'),
        },
      });
      started.push(c);
      await c.initDone;
      return [`${fn.name}#${i}`, c];
    }));
    const refused = settled.find((r) => r.status === 'rejected');
    if (refused) throw refused.reason;
    const containers = new Map(settled.map((r) => r.value));
    const kinds = new Set([...containers.values()].map((c) => c.kind));
    log(`    S3 at ${s3.endpoint}; ${containers.size} containers (${[...kinds].join(', ')} runtime client)`);

    log(`4/6 sending ${EVENTS.length} events`);
    let ok = 0;
    let failed = 0;
    for (const [fn, index, event, { test, clientContext }] of EVENTS) {
      const r = await containers.get(`${fn}#${index}`).invoke(event, clientContext ? { clientContext } : undefined);
      const status = r.ok ? (r.payload?.statusCode ?? 'ok') : `${r.errorType}`;
      if (r.ok) ok++; else failed++;
      log(`    ${fn}#${index} ${describe(event).padEnd(28)} ${(test ?? '(untagged)').padEnd(18)} -> ${status}`);
    }
    const health = await containers.get('api#0').invoke({ lambdaCoverage: 'health' });
    const h = health.payload ?? {};
    log(`    health: ${h.status}, ${h.instrumented_files} instrumented files, last upload ${h.last_upload?.ok ? `ok (${h.last_upload.bytes} bytes in ${h.last_upload.ms} ms)` : JSON.stringify(h.last_upload)}`);
    log(`    ${ok} succeeded, ${failed} failed on purpose`);

    log('5/6 lambda-coverage combine');
    const cli = join(ROOT, 'dist/combiner/cli.js');
    const args = ['combine', '--bucket', BUCKET, '--endpoint-url', s3.endpoint, '--force-path-style',
      '--out', out, '--source-root', join(ROOT, 'examples/basic'), '--no-progress',
      '--reporter', 'text', '--reporter', 'html', '--reporter', 'lcov', '--reporter', 'json', '--reporter', 'json-summary', '--per-test',
      // The merged result as one shard (per-test data included), for `lambda-coverage affected --dir`.
      '--as-shard', join(work, 'combined', 'shards', 'demo.json.gz')];
    const code = await runChild(process.execPath, [cli, ...args], { ...process.env, ...localS3Env(s3.endpoint) }, log);
    if (code !== 0) throw new Error(`lambda-coverage combine exited with ${code}`);

    // The combiner Lambda has no checkout: its HTML shows the source text stored with the build.
    const lambdaReport = join(work, 'lambda-report');
    const { createHandler } = await import('../dist/combiner/handler.js');
    const lambda = createHandler({ endpointUrl: s3.endpoint, forcePathStyle: true, env: localS3Env(s3.endpoint), threads: 0 });
    // Its summary goes to its log (CloudWatch on Lambda); the demo prints one line of its own instead.
    const print = console.log;
    console.log = () => undefined;
    const res = await lambda({ bucket: BUCKET, runId: 'demo-lambda', reporters: ['html', 'json-summary'] }).finally(() => { console.log = print; });
    if (!res.ok) throw new Error(`the combiner Lambda handler failed: ${JSON.stringify(res.thresholdErrors)}`);
    await downloadPrefix(s3.endpoint, res.outputPrefix, res.keys, lambdaReport);
    log(`    the combiner Lambda (no checkout): ${res.keys.length} files at s3://${BUCKET}/${res.outputPrefix}, ${res.summary.storedSources.shown.length} files shown with the source stored in the bucket`);

    const tests = readTestsTable(out);
    log(`    per test (${relative(process.cwd(), join(out, 'coverage-tests.json')) || 'coverage-tests.json'}; lcov.info has a TN: section each):`);
    for (const line of tests) log(`    ${line}`);

    log(`6/6 HTML report: ${join(relative(process.cwd(), out) || '.', 'index.html')}, per test: ${join(relative(process.cwd(), out) || '.', 'per-test', 'index.html')}  (done in ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    return { out, health: h, ok, failed, combined: join(work, 'combined'), lambdaReport };
  } finally {
    // Containers spin down independently (each gives its runtime up to a second for the last flush), then S3.
    const failed = (err) => log(`stop failed: ${err.message}`);
    await Promise.all(started.map((c) => c.shutdown().catch(failed)));
    await s3?.stop().catch(failed);
  }
}

/** The per-test table: each test's invocations, the functions it ran in, and what it covered. */
function readTestsTable(out) {
  const doc = JSON.parse(readFileSync(join(out, 'coverage-tests.json'), 'utf8'));
  const count = (files, key) => Object.values(files).reduce((n, f) => n + f[key].length, 0);
  const rows = Object.entries(doc.tests).map(([name, t]) => [name, String(t.invocations), t.functions.join(', '),
    String(count(t.files, 'lines')), String(count(t.files, 'functions')), String(count(t.files, 'branches'))]);
  for (const [name, section] of [['(init)', doc.init], ['(untagged)', doc.untagged]]) {
    rows.push([name, '', '', String(count(section.files, 'lines')), String(count(section.files, 'functions')), String(count(section.files, 'branches'))]);
  }
  const head = ['test', 'invocations', 'functions', 'lines', 'fns', 'branch arms'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r) => r.map((c, i) => (i === 0 || i === 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ');
  return [fmt(head), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(fmt)];
}

/** Copies the objects of one combiner run to a folder (the combiner Lambda's report, to open or test). */
async function downloadPrefix(endpoint, prefix, keys, dir) {
  const { S3Client, GetObjectCommand } = await import('@aws-sdk/client-s3');
  const client = new S3Client({ endpoint, forcePathStyle: true, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  try {
    for (const key of keys) {
      const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      const file = join(dir, key.slice(prefix.length));
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, await got.Body.transformToByteArray());
    }
  } finally {
    client.destroy();
  }
}

function describe(event) {
  if (event.requestContext?.http) return `${event.requestContext.http.method} ${event.rawPath}`;
  if (event.Records) return `SQS batch of ${event.Records.length}`;
  return `${event['detail-type'] ?? 'event'}`;
}

function runChild(cmd, args, env, log) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    // Whole lines only: a chunk of output can end in the middle of one.
    for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on('line', (line) => { if (line) log(line); });
    child.on('error', reject);
    child.on('close', (code) => resolvePromise(code));
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runDemo().catch((err) => {
    console.error(`demo failed: ${err.stack ?? err}`);
    process.exitCode = 1;
  });
}
