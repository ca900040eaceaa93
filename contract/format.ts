/**
 * The contract between plugin, runtime and combiner, in one import: the documents they exchange
 * (documents.ts, and the per-test records of tests.ts), the S3 layout (keys.ts) and what a reader accepts
 * from untrusted input (limits.ts).
 * Light enough for the layer's cold start. The decode entry over both shard readers (the one-pass scan
 * and the general path) is decode.ts; only the combiner reads documents in bulk, so it is kept apart.
 */
export * from './documents.js';
export * from './keys.js';
export * from './limits.js';
export * from './tests.js';
