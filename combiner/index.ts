/**
 * `lambda-coverage/combiner`: merge coverage shards from S3 or disk into Istanbul reports.
 * The CLI (`lambda-coverage combine`) and the Lambda `handler` are shells over `combine()`; this is the
 * whole public surface (the merge core, readers and report writers behind it are internal).
 */
export {
  combine, CombineError, TooManyInvalidError,
  type CombineOptions, type CombineResult, type CombineSummary, type BuildSummary, type MetricTotal,
} from './combine.js';
export { affected, affectedTests, type AffectedOptions, type AffectedReport, type AffectedResult } from './affected.js';
export { handler, createHandler, CombineEventError, type CombineEvent, type CombineResponse } from './handler.js';
export type { BuildMode, DroppedVersions, MergeResult, MergedBuild, MergedFile, SpellingWarning } from './merge.js';
export type { PathMapping, PrefixDetection } from './paths.js';
export type { Metric, Thresholds } from './reports.js';
export { S3AccessError, type S3Settings } from './s3.js';
export type { IngestProgress, Skipped, SkipKind } from './ingest.js';
export type { InputLimits } from '../contract/format.js';
