/**
 * `lambda-coverage/combiner`: merge coverage shards from S3 or disk into Istanbul reports.
 * The CLI (`lambda-coverage combine`) and the Lambda `handler` are shells over `combine()`.
 */
export {
  combine, newRunId, CombineError, TooManyInvalidError,
  type CombineOptions, type CombineResult, type CombineSummary, type BuildSummary, type MetricTotal,
} from './combine.js';
export { handler, createHandler, HANDLER_REPORTERS, CombineEventError, type CombineEvent, type CombineResponse } from './handler.js';
export { main, EXIT_OK, EXIT_THRESHOLD, EXIT_ERROR, type CliIO } from './main.js';
export {
  CoverageMerger, InputRejectedError, mapsFingerprint, toCoverageMap,
  type MergerOptions, type MergeResult, type MergedBuild, type MergedFile, type DroppedVersions, type SpellingWarning,
  type InputInfo, type BuildMode,
} from './merge.js';
export { parsePathMap, applyPathMap, safeJoin, UnsafePathError, type PathMapping } from './paths.js';
export { writeReports, checkThresholds, sourceLookup, DEFAULT_REPORTERS, KNOWN_REPORTERS, type Thresholds, type Metric } from './reports.js';
export { createS3Client, S3AccessError, type S3Settings, type RetryOptions } from './s3.js';
export { dirItems, s3Items, type SourceItem } from './sources.js';
export { type Skipped, type SkipKind, type IngestProgress } from './ingest.js';
export { classify, decodeInput, type Decoded } from './decode.js';
export { formatSummary } from './summary.js';
