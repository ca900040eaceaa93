// cdk.json runs this with Node 22's type stripping: `node app.ts`. COVERAGE_ENABLED=1 for a test stage.
import { App } from 'aws-cdk-lib';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoverageStack } from './lib/coverage-stack.ts';

const here = dirname(fileURLToPath(import.meta.url));
const app = new App();
new CoverageStack(app, 'OrdersCoverage', {
  coverage: process.env.COVERAGE_ENABLED === '1',
  layerZip: resolve(here, app.node.tryGetContext('layerZip') ?? 'layer/lambda-coverage-layer.zip'),
  projectDir: resolve(here, app.node.tryGetContext('projectDir') ?? '../basic'),
});
app.synth();
