// The layer through aws-lambda-ric 4 (the nodejs24.x runtime client), installed by `npm ci` as the
// dev dependency "aws-lambda-ric-4" (an npm alias of aws-lambda-ric@^4; its install builds curl and
// aws-lambda-cpp from source with cmake, ~9 min on a 2-core machine). LAMBDA_COVERAGE_RIC4_DIR may
// name another copy. Where neither is there, these skip with that message.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startContainer, type Container } from '../../scripts/local/lambda.mjs';
import { startLocalS3, type LocalS3 } from '../../scripts/local/s3.mjs';
import { FIXTURE_PATH, expectedCounters, writeFixture, type Shape } from './fixtures.js';
import { awsListKeys, awsShard, coverageEnv, layerOpt, tempDir } from './helpers.js';

const aliased = join(import.meta.dirname, '..', '..', 'node_modules', 'aws-lambda-ric-4');
const dir = process.env.LAMBDA_COVERAGE_RIC4_DIR ?? (existsSync(aliased) ? aliased : undefined);
const version = dir !== undefined && existsSync(join(dir, 'package.json'))
  ? String((JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: string }).version) : undefined;
const ok = version !== undefined && Number(version.split('.')[0]) >= 4;
if (!ok) console.warn('SKIPPED aws-lambda-ric 4 tests: not installed (node_modules/aws-lambda-ric-4, or LAMBDA_COVERAGE_RIC4_DIR naming an aws-lambda-ric 4.x package directory)');
const d = ok ? describe : describe.skip;

let s3: LocalS3;
let opt: string;
const containers: Container[] = [];
beforeAll(async () => {
  if (!ok) return;
  s3 = await startLocalS3({ buckets: ['cov-bucket'] });
  opt = layerOpt();
});
afterAll(async () => {
  await Promise.all(containers.map((c) => c.shutdown().catch(() => undefined)));
  await s3?.stop();
});

async function start(shape: Shape, fn: string, layer = true) {
  const taskRoot = tempDir('task-ric4');
  const fx = writeFixture(taskRoot, shape);
  const env = layer ? coverageEnv(s3.endpoint, { AWS_LAMBDA_EXEC_WRAPPER: `${opt}/lambda-coverage` }) : {};
  const c = await startContainer({ taskRoot, optDir: opt, handler: fx.handler, env, functionName: fn, ricDir: dir, executionEnv: 'AWS_Lambda_nodejs24.x' });
  containers.push(c);
  return c;
}

d(`the layer through aws-lambda-ric ${version}`, () => {
  for (const shape of ['cjs-async', 'esm-mjs', 'streaming'] as const) {
    it(`${shape}: result and error pass through, the shard reaches S3`, async () => {
      const fn = `fn-ric4-${shape}`;
      const c = await start(shape, fn);
      await c.initDone;
      const r = await c.invoke({ n: 1 });
      expect(r.ok).toBe(true);
      expect(r.body).toContain('"n":1');
      if (shape !== 'streaming') {
        const bad = await c.invoke({ fail: 'x' });
        expect(bad.errorType).toBe('FixtureError');
        expect(bad.payload.errorMessage).toBe('boom: x');
      }
      const keys = await awsListKeys(s3.endpoint, `coverage/${fn}/shards/`);
      expect(keys).toHaveLength(1);
      expect((await awsShard(s3.endpoint, keys[0]!)).files[FIXTURE_PATH]).toEqual(expectedCounters(1, shape === 'streaming' ? 0 : 1));
    });
  }

  it('a callback handler is rejected at init exactly as without the layer (the wrapper keeps its arity)', async () => {
    const seen = [];
    for (const layer of [false, true]) {
      const c = await start('cjs-callback', `fn-ric4-cb-${layer}`, layer);
      await c.initDone.catch(() => undefined);
      const r = await c.invoke({ n: 1 });
      expect(r.ok).toBe(false);
      seen.push({ errorType: r.errorType, errorMessage: r.payload?.errorMessage });
    }
    expect(seen[0]!.errorType).toBe('Runtime.CallbackHandlerDeprecated');
    expect(seen[1]).toEqual(seen[0]);
  });
});
