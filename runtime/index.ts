/**
 * lambda-coverage/runtime: what runs inside the Lambda function. Tiny on purpose: no Babel, no
 * istanbul-lib-*, no combiner; the S3 client is required lazily from the Lambda runtime's own SDK.
 */
export { withCoverage, type WithCoverageOptions } from './wrap.js';
export { flushCoverage, coverageHealth } from './lifecycle.js';
export type { CoverageConfig, ConfigProblem, FlushMode } from './config.js';
export type { FlushResult, FlushOutcome, LastUpload } from './collector.js';
export type { HealthReport } from './health.js';
