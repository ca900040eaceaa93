import { App } from 'aws-cdk-lib';
import { Template, Match } from 'aws-cdk-lib/assertions';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CoverageStack } from '../../examples/cdk/lib/coverage-stack.js';
import { buildLayer } from '../../runtime/layer-build.js';

const root = new URL('../../', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'lc-cdk-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Synthesizes the example offline, running the real esbuild script with the plugin at synth time. */
function synth(coverage: boolean) {
  const projectDir = join(root, 'examples/basic');
  const buildDir = join(work, `dist-${coverage}`);
  const layerZip = join(work, 'layer.zip');
  if (!existsSync(layerZip)) buildLayer({ out: layerZip, print: () => undefined });
  const app = new App({ outdir: join(work, `cdk.out-${coverage}`) });
  const stack = new CoverageStack(app, 'OrdersCoverage', { coverage, layerZip, projectDir, buildDir });
  return { template: Template.fromStack(stack), buildDir };
}

describe('examples/cdk', () => {
  it('synthesizes a test stage: instrumented bundles, the layer, the exec wrapper, least-privilege writes', () => {
    const { template, buildDir } = synth(true);
    template.resourceCountIs('AWS::Lambda::LayerVersion', 1);
    template.resourcePropertiesCountIs('AWS::Lambda::Function', {
      Layers: Match.anyValue(),
      Environment: { Variables: Match.objectLike({ COVERAGE_ENABLED: '1', AWS_LAMBDA_EXEC_WRAPPER: '/opt/lambda-coverage' }) },
    }, 3);
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: [Match.objectLike({ Prefix: 'coverage/', ExpirationInDays: 30 })] },
    });
    const policies = template.findResources('AWS::IAM::Policy');
    const puts = Object.values<any>(policies).flatMap((p) => p.Properties.PolicyDocument.Statement)
      .filter((s) => s.Action === 's3:PutObject');
    expect(puts).toHaveLength(3);
    for (const s of puts) expect(JSON.stringify(s.Resource)).toMatch(/\/coverage\/OrdersCoverage-(api|queue|nightly)\/\*/);
    // fromCustomCommand ran the example's esbuild script with the plugin on.
    const bundle = readFileSync(join(buildDir, 'api/index.mjs'), 'utf8');
    expect(bundle).toContain('__coverage__');
    expect(existsSync(join(buildDir, 'api/lambda-coverage-manifest.json'))).toBe(true);
  });

  it('synthesizes a production stage with no layer and uninstrumented bundles', () => {
    const { template, buildDir } = synth(false);
    template.resourceCountIs('AWS::Lambda::LayerVersion', 0);
    expect(readFileSync(join(buildDir, 'api/index.mjs'), 'utf8')).not.toContain('__coverage__');
  });
});
