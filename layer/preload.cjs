'use strict';
// NODE_OPTIONS=--require /opt/nodejs/node_modules/lambda-coverage/layer/preload.cjs
// Runs before the Node.js runtime reads _HANDLER: puts the coverage shim in front of the function's
// handler and keeps the original in COVERAGE_ORIGINAL_HANDLER. Does nothing unless COVERAGE_ENABLED is
// on: runtime/env.ts's set (1, true, t, yes, y, on; any case, surrounding whitespace ignored), repeated
// here so that nothing is loaded; test/runtime/env-values.test.ts holds the two equal.
const env = process.env;
const on = /^(?:1|t|true|y|yes|on)$/i.test(String(env.COVERAGE_ENABLED ?? '').trim());
if (on && env._HANDLER && !env.COVERAGE_ORIGINAL_HANDLER && env.AWS_LAMBDA_RUNTIME_API) {
  env.COVERAGE_ORIGINAL_HANDLER = env._HANDLER;
  env._HANDLER = require('node:path').join(__dirname, 'shim.handler');
}
