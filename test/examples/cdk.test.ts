import { App } from 'aws-cdk-lib';
import { Template, Match } from 'aws-cdk-lib/assertions';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CoverageStack } from '../../examples/cdk/lib/coverage-stack.js';
import { buildLayer } from '../../runtime/layer-build.js';

const root = new URL('../../', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'lc-cdk-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
// A synth runs three esbuild builds (one per function) in child processes: room for a busy machine.
const SYNTH_TIMEOUT = 180_000;

/**
 * `cdk synth` offline, as the CDK CLI runs it: the cdk.json app command with the output folder and
 * the context in the environment. The app runs the example's esbuild script (with the plugin) per function.
 */
function cdkSynth(coverage: boolean) {
  const app = JSON.parse(readFileSync(join(root, 'examples/cdk/cdk.json'), 'utf8')).app.split(' ');
  expect(app[0]).toBe('node');
  const outdir = join(work, `cdk.out-${coverage}`);
  const layerZip = join(work, 'layer.zip');
  buildLayer({ out: layerZip, print: () => undefined });
  execFileSync(process.execPath, app.slice(1), {
    cwd: join(root, 'examples/cdk'),
    stdio: 'pipe',
    env: {
      ...process.env,
      COVERAGE_ENABLED: coverage ? '1' : '0',
      CDK_OUTDIR: outdir,
      // The CLI's default --asset-metadata names each function's asset folder in the template.
      CDK_CONTEXT_JSON: JSON.stringify({ layerZip, buildDir: join(work, `dist-${coverage}`), 'aws:cdk:enable-asset-metadata': true }),
    },
  });
  const json = JSON.parse(readFileSync(join(outdir, 'OrdersCoverage.template.json'), 'utf8'));
  const template = Template.fromJSON(json);
  // The three functions of the example (the bucket's auto-delete custom resource has one more).
  const fns = Object.values<any>(template.findResources('AWS::Lambda::Function'))
    .filter((r) => /^OrdersCoverage-(api|queue|nightly)$/.test(r.Properties.FunctionName));
  expect(fns).toHaveLength(3);
  /** The folder CDK uploads as a function's code. */
  const asset = (fn: any) => join(outdir, fn.Metadata['aws:asset:path']);
  return { template, fns, asset };
}

describe('examples/cdk', () => {
  it('cdk synth, test stage: instrumented bundles with their manifests, the layer, the exec wrapper, least-privilege writes', () => {
    const { template, fns, asset } = cdkSynth(true);
    template.resourceCountIs('AWS::Lambda::LayerVersion', 1);
    for (const fn of fns) {
      expect(fn.Properties.Layers).toHaveLength(1);
      expect(fn.Properties.Environment.Variables).toMatchObject({ COVERAGE_ENABLED: '1', AWS_LAMBDA_EXEC_WRAPPER: '/opt/lambda-coverage' });
      expect(readdirSync(asset(fn))).toEqual(expect.arrayContaining(['index.mjs', 'lambda-coverage-manifest.json']));
      expect(readFileSync(join(asset(fn), 'index.mjs'), 'utf8')).toContain('__coverage__');
    }
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: [Match.objectLike({ Prefix: 'coverage/', ExpirationInDays: 30 })] },
    });
    const statements = Object.values<any>(template.findResources('AWS::IAM::Policy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement);
    const puts = statements.filter((s) => s.Action === 's3:PutObject');
    expect(puts).toHaveLength(3);
    for (const s of puts) expect(JSON.stringify(s.Resource)).toMatch(/\/coverage\/OrdersCoverage-(api|queue|nightly)\/\*/);
    // No function may read, list or delete coverage data.
    expect(statements.filter((s) => /s3:(Get|List|Delete)/.test(JSON.stringify(s.Action)))).toEqual([]);
  }, SYNTH_TIMEOUT);

  it('production stage (library synth): no layer, no coverage variables, uninstrumented bundles', () => {
    const buildDir = join(work, 'dist-prod');
    const app = new App({ outdir: join(work, 'cdk.out-prod') });
    const stack = new CoverageStack(app, 'OrdersCoverage', {
      coverage: false, layerZip: join(work, 'none.zip'), projectDir: join(root, 'examples/basic'), buildDir,
    });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Lambda::LayerVersion', 0);
    expect(JSON.stringify(template.toJSON())).not.toContain('COVERAGE_');
    expect(readFileSync(join(buildDir, 'api/index.mjs'), 'utf8')).not.toContain('__coverage__');
  }, SYNTH_TIMEOUT);
});
