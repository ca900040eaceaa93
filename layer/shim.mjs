// The layer's handler: _HANDLER points here (set by /opt/lambda-coverage or preload.cjs) and the
// function's own handler string waits in COVERAGE_ORIGINAL_HANDLER. Loaded by the Node.js runtime
// after it defined globalThis.awslambda, so streamifyResponse works in the user's module as usual.
import { loadHandler } from '../dist/runtime/load-handler.js';
import { withCoverage } from '../dist/runtime/index.js';
import { prepareAtInit } from '../dist/runtime/lifecycle.js';

const original = process.env.COVERAGE_ORIGINAL_HANDLER;
if (!original) {
  throw new Error('lambda-coverage: COVERAGE_ORIGINAL_HANDLER is not set. Set the function handler to your own handler and add AWS_LAMBDA_EXEC_WRAPPER=/opt/lambda-coverage (or NODE_OPTIONS=--require /opt/nodejs/node_modules/lambda-coverage/layer/preload.cjs) instead of pointing _HANDLER at the shim.');
}
const loaded = await loadHandler(process.env.LAMBDA_TASK_ROOT ?? process.cwd(), original);

export const handler = withCoverage(loaded.handler);
// Provisioned concurrency and Managed Instances: the first flush's fixed work is done now, during init.
await prepareAtInit();
