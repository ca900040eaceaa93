// cdk.json runs this with Node's type stripping (on by default from Node 22.18): `node app.ts`.
// COVERAGE_ENABLED=1 for a test stage. Context (-c key=value): layerZip, projectDir, buildDir.
import { App } from 'aws-cdk-lib';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoverageStack } from './lib/coverage-stack.ts';

const here = dirname(fileURLToPath(import.meta.url));
const app = new App();
const context = (key: string): string | undefined => app.node.tryGetContext(key);
const buildDir = context('buildDir');
new CoverageStack(app, 'OrdersCoverage', {
  coverage: process.env.COVERAGE_ENABLED === '1',
  layerZip: resolve(here, context('layerZip') ?? 'layer/lambda-coverage-layer.zip'),
  projectDir: resolve(here, context('projectDir') ?? '../basic'),
  ...(buildDir ? { buildDir: resolve(here, buildDir) } : {}),
});
app.synth();
