/**
 * lambda-coverage/esbuild: instrument a bundle's own TypeScript/JavaScript with Istanbul counters.
 *
 *   import { coverageInstrument } from 'lambda-coverage/esbuild';
 *   await esbuild.build({ ..., plugins: [coverageInstrument()] }); // on when COVERAGE_ENABLED=1
 */
export { coverageInstrument } from './esbuild-plugin.js';
export { instrument } from './instrument.js';
export type { InstrumentOptions, InstrumentResult } from './instrument.js';
export { InstrumentError } from './instrumented.js';
export type { CodeLoader, SourceLocation } from './instrumented.js';
export { CoverageOptionsError, DEFAULT_EXCLUDE, DEFAULT_EXTENSIONS, DEFAULT_CACHE_DIR } from './options.js';
export type { CoverageInstrumentOptions } from './options.js';
export { MANIFEST_FILE } from '../contract/format.js';
export type { BuildManifest, FileMaps } from '../contract/format.js';
