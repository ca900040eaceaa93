'use strict';
// NODE_OPTIONS=--require /opt/nodejs/node_modules/lambda-coverage/layer/preload.cjs
// Runs before the Node.js runtime reads _HANDLER: puts the coverage shim in front of the function's
// handler and keeps the original in COVERAGE_ORIGINAL_HANDLER. Does nothing unless COVERAGE_ENABLED=1.
const env = process.env;
const on = env.COVERAGE_ENABLED === '1' || String(env.COVERAGE_ENABLED).toLowerCase() === 'true';
if (on && env._HANDLER && !env.COVERAGE_ORIGINAL_HANDLER && env.AWS_LAMBDA_RUNTIME_API) {
  env.COVERAGE_ORIGINAL_HANDLER = env._HANDLER;
  env._HANDLER = require('node:path').join(__dirname, 'shim.handler');
}
