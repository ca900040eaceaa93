/**
 * The one library call behind the CLI and the Lambda handler: read every input, merge, write reports,
 * check thresholds, optionally upload and write the result back as a shard.
 */
import { createReadStream } from 'node:fs';
import { appendFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import libCoverage from 'istanbul-lib-coverage';
import type { CoverageSummary } from 'istanbul-lib-coverage';
import {
  DEFAULT_LIMITS, LIMIT_FLAGS, boundMessage, checkStoredSize, combinedPrefix, decodeJsonGz, keySegment, normalizePrefix, parseManifest,
  type BuildManifest, type InputLimits,
} from '../contract/format.js';
import { ingest, newStats, type IngestProgress, type IngestStats, type Skipped } from './ingest.js';
import { CoverageMerger, type BuildMode, type DroppedVersions, type MergeResult, type SpellingWarning } from './merge.js';
import { parsePathMap, type PathMapping, type PrefixDetection } from './paths.js';
import {
  DEFAULT_REPORTERS, METRICS, checkReporters, checkThresholds, readableInside, sourceLookup, writeReports, type Metric, type SourceLookup, type Thresholds,
} from './reports.js';
import { SourcesCatalog, storedSourceFinder, type SourceProblem } from './stored-sources.js';
import { parseS3Url, uploadReports, writeAsShard } from './publish.js';
import { selectSections, unknownTestsMessage, type TestInfo } from './per-test.js';
import { writePerTest } from './per-test-report.js';
import { toCoverageMap } from './accumulator.js';
import { createS3Client, getObjectBytes, type RetryOptions, type S3Settings } from './s3.js';
import { dirItems, s3Items, type SourceItem } from './sources.js';
import { DiffError, parseDiff, type ParsedDiff } from './diff.js';
import { checkPatchThreshold, patchCoverage, type PatchCoverage } from './patch.js';
import { MARKDOWN_FILE, MARKDOWN_REPORTER, markdownSummary } from './markdown.js';

export interface CombineOptions extends S3Settings {
  /** Read shards from this bucket (`{prefix}{function}/shards/*.json.gz`). */
  bucket?: string;
  /** Key prefix the runtime writes under. @default "coverage/" */
  prefix?: string;
  /** Only these functions. @default every function under the prefix */
  functions?: string[];
  /** Directories (or single files) with shards, coverage-final.json files or `.nyc_output`. */
  dirs?: string[];
  /** Build manifests (lambda-coverage-manifest.json): files that never ran appear with 0%. */
  manifests?: string[];
  /** Report directory. @default "coverage" */
  out?: string;
  /** istanbul-reports names. @default ["text-summary", "html", "lcov", "json", "json-summary"] */
  reporters?: string[];
  /** Where the HTML report reads sources; `null`: nowhere (the pages say so). @default cwd */
  sourceRoot?: string | null;
  /** Also write the reports to `{outputPrefix}` in the bucket. @default false */
  upload?: boolean;
  /** Where --upload writes. @default `{prefix}combined/{runId}/` */
  outputPrefix?: string;
  /** Names this run (upload folder, --as-shard functionVersion). @default a time-based id */
  runId?: string;
  /** Fail (`thresholdErrors`) when a metric is below its threshold. */
  checkCoverage?: boolean;
  /** Thresholds in percent. With checkCoverage and none given: lines 90, as nyc and c8. */
  thresholds?: Thresholds;
  /** More invalid inputs than this is an error. @default Infinity (reported only) */
  maxInvalid?: number;
  /** `newest`: one report, the newest version of every file. `all`: one report per build. @default "newest" */
  build?: BuildMode;
  /** `FROM=TO` rules (or parsed) for absolute build-machine paths. */
  pathMap?: (string | PathMapping)[];
  /** Write the merged result as a shard (local file, or `s3://bucket/key`) to merge it again later. */
  asShard?: string;
  /**
   * A unified diff (a file, `-` for `stdin`, or `s3://bucket/key`): its changed lines' coverage goes to
   * `coverage-patch.json` and `summary.patch`, and `thresholds.patchLines` is checked against it.
   */
  diff?: string;
  /** Where `diff: '-'` is read from. @default process.stdin */
  stdin?: AsyncIterable<Uint8Array>;
  /** False: read and merge only, write no report and upload nothing (what `affected` runs). @default true */
  write?: boolean;
  /**
   * Per-test outputs: lcov.info with one `TN:` section per test (and `init`, `untagged`),
   * coverage-tests.json and the pages under per-test/. @default false
   */
  perTest?: boolean;
  /**
   * Reports of just these tests (their counters summed; `init` and `untagged` are names too). A name no
   * shard carries is an error naming the tests there are. --as-shard still writes everything.
   */
  tests?: string[];
  /**
   * What one input may cost; an input over a bound is skipped and named, and the combine goes on.
   * @default { maxInputBytes: 32 MiB, maxMapsBytes: 256 MiB, maxSourcesBytes: 128 MiB, maxFiles: 50000, maxCounters: 1000000, maxPathLength: 1024, maxTests: 10000, maxDiffBytes: 32 MiB }
   */
  limits?: Partial<InputLimits>;
  /** Downloads in flight. @default 16 */
  concurrency?: number;
  /** Worker threads that decode and validate inputs; 0 = main thread. @default 'auto' (one per core, at most 4) */
  threads?: number | 'auto';
  /** Per-request timeout (ms) and attempts for S3. @default 30000 and 4 */
  timeoutMs?: number;
  attempts?: number;
  /** A client to use instead of one built from the settings (tests, custom credentials). */
  s3Client?: S3Client;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  onProgress?: (p: IngestProgress) => void;
}

export interface MetricTotal {
  total: number;
  covered: number;
  skipped: number;
  pct: number | 'Unknown';
}

export interface BuildSummary {
  id: string;
  dir: string;
  files: number;
  totals: Record<Metric, MetricTotal>;
}

export interface CombineSummary {
  runId: string;
  shards: number;
  coverageFiles: number;
  functions: string[];
  invocations: number;
  bytes: number;
  files: number;
  /** Of every report's files taken together (one report unless `--build all`; see `builds` for each). */
  totals: Record<Metric, MetricTotal>;
  builds: BuildSummary[];
  skipped: Skipped[];
  invalid: number;
  retries: number;
  dropped: DroppedVersions[];
  spellings: SpellingWarning[];
  pathPrefix: PrefixDetection;
  saturated: string[];
  /** Files of plain coverage inputs that carry an inputSourceMap (not remapped here). */
  remapNeeded: string[];
  missingSources: string[];
  /**
   * Source text stored with the builds (the plugin's `sources: true`) for files not found under
   * --source-root: the documents read, the files shown with it, and the documents or texts refused.
   */
  storedSources: { documents: number; shown: string[]; problems: SourceProblem[] };
  /** With `diff`: the coverage of its changed lines (what coverage-patch.json holds). */
  patch?: PatchCoverage;
  durationMs: number;
  /** Per-test coverage: how many named tests the shards carry, and the ones the reports are of (--test). */
  tests?: { found: number; reportOf?: string[]; perTestPage?: string };
}

export interface CombineResult {
  summary: CombineSummary;
  /** Files written locally, per build. */
  reports: { build: string; dir: string; files: string[] }[];
  /** What terminal reporters printed (text-summary by default). */
  terminal: string;
  /** One line per failed threshold; empty when all pass or checkCoverage is off. */
  thresholdErrors: string[];
  uploaded?: { bucket: string; prefix: string; keys: string[] };
  asShard?: { shard: string; maps: string };
  merge: MergeResult;
  /** With `diff`: the lines it changes, per coverage path (new-file numbering). */
  changed?: ReadonlyMap<string, readonly number[]>;
}

export class CombineError extends Error {
  override name = 'CombineError';
}

/** Invalid inputs above --max-invalid: the summary is attached so the caller can still print it. */
export class TooManyInvalidError extends CombineError {
  override name = 'TooManyInvalidError';
  constructor(message: string, readonly summary: CombineSummary) { super(message); }
}

export function newRunId(now = new Date()): string {
  return `${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
}

function totalsOf(summary: CoverageSummary): Record<Metric, MetricTotal> {
  const out = {} as Record<Metric, MetricTotal>;
  for (const m of METRICS) {
    const t = summary[m];
    out[m] = { total: t.total, covered: t.covered, skipped: t.skipped, pct: t.pct as number | 'Unknown' };
  }
  return out;
}

/** Totals of every build's files taken together (with `--build all`, a file in two builds counts twice). */
function allBuilds(sums: readonly CoverageSummary[]): CoverageSummary {
  const total = libCoverage.createCoverageSummary();
  for (const s of sums) total.merge(s);
  return total;
}

/**
 * Reads every shard (and plain coverage file) of the sources given, merges them and writes the reports:
 * what `lambda-coverage combine` and the combiner Lambda run. Invalid inputs are skipped and listed in
 * `summary.skipped`; only usage errors and S3 that stays unreachable throw.
 *
 * @example
 * import { combine } from 'lambda-coverage/combiner';
 *
 * const { summary, thresholdErrors } = await combine({
 *   bucket: 'my-coverage-bucket', reporters: ['lcov', 'json-summary'], out: 'coverage',
 *   checkCoverage: true, thresholds: { lines: 80 },
 * });
 * console.log(`${summary.shards} shards, lines ${summary.totals.lines.pct}%`);
 * if (thresholdErrors.length > 0) process.exitCode = 1;
 */
export async function combine(options: CombineOptions): Promise<CombineResult> {
  const started = performance.now();
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const runId = options.runId ?? newRunId();
  const prefix = normalizePrefix(options.prefix ?? 'coverage/');
  const out = resolve(cwd, options.out ?? 'coverage');
  const reporters = options.reporters && options.reporters.length > 0 ? options.reporters : DEFAULT_REPORTERS;
  const build = options.build ?? 'newest';
  if (build !== 'newest' && build !== 'all') throw new CombineError(`build must be "newest" or "all", not ${JSON.stringify(build)}`);
  if (options.asShard && build === 'all') throw new CombineError('--as-shard writes one version of each file; it cannot be used with --build all');
  if (!options.bucket && (!options.dirs || options.dirs.length === 0)) {
    throw new CombineError('nothing to read: give --bucket (shards in S3) or --dir (shards or coverage files on disk)');
  }
  if (options.upload && !options.bucket) throw new CombineError('--upload needs --bucket');
  if (options.outputPrefix !== undefined && !options.upload) throw new CombineError('--output-prefix says where --upload writes; add --upload');
  if (options.diff !== undefined && build === 'all') throw new CombineError('--diff measures one version of each file; it cannot be used with --build all');
  if (options.checkCoverage && options.thresholds?.patchLines !== undefined && options.diff === undefined) {
    throw new CombineError('--patch-lines is checked against the lines a diff changes; add --diff FILE (git diff origin/main...HEAD > pr.diff)');
  }
  checkReporters(reporters.filter((r) => r !== MARKDOWN_REPORTER));
  const pathMap = (options.pathMap ?? []).map((p) => (typeof p === 'string' ? parsePathMap(p) : p));
  const limits = resolveLimits(options.limits);
  const concurrency = options.concurrency ?? 16;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new CombineError(`concurrency must be a positive integer, not ${concurrency}`);

  let retries = 0;
  const retry: RetryOptions = {
    attempts: options.attempts ?? 4, timeoutMs: options.timeoutMs ?? 30_000,
    onRetry: () => { retries++; },
  };
  const needS3 = !!options.bucket || !!options.asShard?.startsWith('s3://') || !!options.diff?.startsWith('s3://');
  const ownClient = needS3 && !options.s3Client;
  const client = needS3 ? options.s3Client ?? await createS3Client(options, env) : undefined;

  try {
    const projectRoot = resolve(cwd, options.sourceRoot ?? '.');
    // Read first: a wrong diff fails the run before any shard is downloaded.
    const diff = options.diff === undefined ? undefined : await readDiff(options.diff, { cwd, client, options, env, retry, limits, stdin: options.stdin });
    const merger = new CoverageMerger({ build, pathMap, projectRoot, limits });
    for (const m of options.manifests ?? []) {
      const { manifest, source, time } = await readManifest(m, { cwd, client, options, env, retry, limits });
      merger.addManifest(manifest, { source, time });
    }

    const catalog = new SourcesCatalog();
    const sources: AsyncIterable<SourceItem>[] = [];
    for (const d of options.dirs ?? []) sources.push(dirItems({ path: resolve(cwd, d), exclude: [out], limits, catalog }));
    if (options.bucket && client) {
      sources.push(s3Items({ client, bucket: options.bucket, prefix, functions: options.functions ?? [], retry, limits, catalog }));
    }
    const stats = newStats();
    await ingest(sources, merger, stats, { concurrency, threads: options.threads ?? 'auto', onProgress: options.onProgress, limits });

    const merge = merger.result();
    // --test: every report is of those tests' counters only (the merge itself, for --as-shard, stays whole).
    const only = options.tests && options.tests.length > 0 ? [...new Set(options.tests)] : undefined;
    if (only) {
      const problem = unknownTestsMessage(only, merge.tests);
      if (problem !== undefined) throw new CombineError(problem);
    }
    const reported: MergeResult = only ? { ...merge, builds: merge.builds.map((b) => {
      const files = selectSections(b.files, only);
      return { ...b, files, coverageMap: toCoverageMap(files) };
    }) } : merge;
    for (const r of merge.refused) stats.skipped.push({ source: r.source, kind: 'invalid', reason: r.reason });
    const invalid = stats.skipped.filter((s) => s.kind === 'invalid').length;
    const sourceRoot = options.sourceRoot === null ? null : resolve(cwd, options.sourceRoot ?? '.');
    const stored = await loadStoredSources(merge, catalog, sourceRoot, options.write === false ? [] : reporters, limits, concurrency);
    const lists = { missing: [] as string[], stored: [] as string[] };
    const lookups = merge.builds.map((b) => sourceLookup(sourceRoot, storedSourceFinder(b.files, stored.texts, stored.problems), lists));
    const sums = reported.builds.map((b) => b.coverageMap.getCoverageSummary());
    const summary: CombineSummary = {
      runId, shards: stats.shards, coverageFiles: stats.coverageFiles, functions: [...stats.functions].sort(),
      invocations: merger.invocations, bytes: stats.bytes,
      files: merge.builds.reduce((n, b) => n + b.files.length, 0),
      totals: totalsOf(allBuilds(sums)),
      builds: [], skipped: stats.skipped.sort((a, b) => (a.source < b.source ? -1 : 1)), invalid, retries,
      dropped: merge.dropped, spellings: merge.spellings, pathPrefix: merge.prefix,
      saturated: merge.saturated, remapNeeded: merge.remapNeeded, missingSources: lists.missing,
      storedSources: { documents: stored.documents, shown: lists.stored, problems: stored.problems }, durationMs: 0,
      ...(merge.tests.length > 0 || only || options.perTest ? { tests: { found: merge.tests.length, ...(only ? { reportOf: only } : {}) } } : {}),
    };
    const maxInvalid = options.maxInvalid ?? Infinity;
    if (invalid > maxInvalid) {
      summary.durationMs = performance.now() - started;
      throw new TooManyInvalidError(`${invalid} invalid input(s), more than --max-invalid ${maxInvalid}; no report written`, summary);
    }

    if (options.write === false) {
      summary.durationMs = performance.now() - started;
      return { summary, reports: [], terminal: '', thresholdErrors: [], merge, ...(diff ? { changed: diff.files } : {}) };
    }
    const thresholds = options.checkCoverage
      ? options.thresholds && Object.values(options.thresholds).some((v) => v !== undefined) ? options.thresholds : { lines: 90 }
      : undefined;
    const { written, terminal, thresholdErrors } = await writeAllReports(reported, sums, summary, {
      out, reporters: reporters.filter((r) => r !== MARKDOWN_REPORTER), build, lookups, projectRoot: resolve(cwd, options.sourceRoot ?? '.'),
      ...(options.perTest ? { perTest: { builds: merge.builds, tests: merge.tests, ...(only ? { only } : {}) } } : {}),
      ...(thresholds ? { thresholds } : {}),
    });
    await writeReviewReports(merge, summary, { out, diff, thresholds, markdown: reporters.includes(MARKDOWN_REPORTER), env }, written, thresholdErrors);

    const uploaded = options.upload && options.bucket && client
      ? await uploadReports(client, options.bucket, options.outputPrefix !== undefined ? normalizePrefix(options.outputPrefix) : combinedPrefix(prefix, runId),
        out, written.flatMap((w) => w.files), concurrency, retry)
      : undefined;

    const asShard = options.asShard
      ? await writeAsShard(merger.toShard(merge.builds[0]!, { containerId: mergedContainerId(stats), functionVersion: runId }), options.asShard, { cwd, client, retry })
      : undefined;

    summary.durationMs = performance.now() - started;
    return { summary, reports: written, terminal, thresholdErrors, merge, ...(diff ? { changed: diff.files } : {}), ...(uploaded ? { uploaded } : {}), ...(asShard ? { asShard } : {}) };
  } finally {
    if (ownClient) client?.destroy();
  }
}

/** The reporters that show source text (`lcov` writes an HTML copy too). */
const SHOWS_SOURCE = new Set(['html', 'html-spa', 'lcov']);

/**
 * The stored source texts a report needs: only when a reporter shows source, and only of the builds
 * that hold a kept file the report cannot read under the source root.
 */
async function loadStoredSources(merge: MergeResult, catalog: SourcesCatalog, root: string | null, reporters: readonly string[], limits: InputLimits, concurrency: number) {
  const wanted = new Set<string>();
  if (catalog.size > 0 && reporters.some((r) => SHOWS_SOURCE.has(r))) {
    for (const b of merge.builds) for (const f of b.files) if (!readableInside(root, f.path)) wanted.add(f.hash);
  }
  if (wanted.size === 0) return { texts: new Map<string, string>(), problems: [] as SourceProblem[], documents: 0 };
  return catalog.load(wanted, limits, Math.min(concurrency, 8));
}

/**
 * A merged shard's container id names what it was made of (every container and coverage file), not the
 * run: partial results of one tree level often share a run id, and must not be taken for copies of
 * one another; the same inputs merged twice are.
 */
export function mergedContainerId(stats: Pick<IngestStats, 'containers' | 'coverageFileSources'>): string {
  const inputs = [...stats.containers.keys(), ...stats.coverageFileSources.map((s) => `file\0${s}`)].sort();
  return `merged-${createHash('sha256').update(inputs.join('\n')).digest('hex').slice(0, 32)}`;
}

interface S3Context { client: S3Client | undefined; options: S3Settings; env: NodeJS.ProcessEnv; retry: RetryOptions; limits: InputLimits }

/**
 * The diff of --diff, read within --max-diff-mb from a file, stdin (`-`) or `s3://bucket/key`, and
 * parsed. A diff names files; none of them is ever opened because of it.
 */
async function readDiff(spec: string, ctx: S3Context & { cwd: string; stdin?: AsyncIterable<Uint8Array> }): Promise<ParsedDiff> {
  const what = `--diff ${spec}`;
  const { limits } = ctx;
  let bytes: Uint8Array;
  const s3url = parseS3Url(spec);
  if (s3url) {
    const c = ctx.client ?? (await createS3Client(ctx.options, ctx.env));
    try {
      const got = await getObjectBytes(c, s3url.bucket, s3url.key, ctx.retry, { limits, name: 'maxDiffBytes' });
      if (got === null) throw new CombineError(`${what}: object not found`);
      bytes = got;
    } finally {
      if (c !== ctx.client) c.destroy();
    }
  } else if (spec === '-') {
    if (!ctx.stdin && process.stdin.isTTY) throw new CombineError(`${what}: stdin is a terminal; pipe the diff in: git diff origin/main...HEAD | lambda-coverage combine --diff - …`);
    bytes = await readBounded(ctx.stdin ?? process.stdin, what, limits);
  } else {
    const path = resolve(ctx.cwd, spec);
    const st = await stat(path).catch((e: NodeJS.ErrnoException) => {
      throw new CombineError(`${what}: ${e.code === 'ENOENT' ? 'file not found (make it with git diff origin/main...HEAD > pr.diff, or pass - to read stdin)' : e.message}`, { cause: e });
    });
    if (st.isFIFO()) {
      bytes = await readBounded(createReadStream(path), what, limits); // --diff <(git diff …)
    } else {
      if (!st.isFile()) throw new CombineError(`${what}: not a file`);
      if (st.size > limits.maxDiffBytes) throw new CombineError(boundMessage(what, 'maxDiffBytes', limits, `${st.size} bytes`));
      bytes = await readFile(path);
    }
  }
  try {
    // `git diff > pr.diff` in Windows PowerShell 5 writes UTF-16 with a byte order mark.
    const utf16 = bytes[0] === 0xff && bytes[1] === 0xfe;
    return parseDiff(new TextDecoder(utf16 ? 'utf-16le' : 'utf-8').decode(bytes), what);
  } catch (e) {
    if (e instanceof DiffError) throw new CombineError(e.message, { cause: e });
    throw e;
  }
}

/** A stream's bytes, stopped at --max-diff-mb. */
async function readBounded(stream: AsyncIterable<Uint8Array>, what: string, limits: InputLimits): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let n = 0;
  for await (const chunk of stream) {
    n += chunk.length;
    if (n > limits.maxDiffBytes) {
      (stream as { destroy?: () => void }).destroy?.();
      throw new CombineError(boundMessage(what, 'maxDiffBytes', limits, `at least ${n} bytes`));
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

interface ReviewPlan {
  out: string;
  diff: ParsedDiff | undefined;
  thresholds: Thresholds | undefined;
  markdown: boolean;
  env: NodeJS.ProcessEnv;
}

/**
 * coverage-patch.json (with a diff) and the Markdown summary (`--reporter markdown`, appended to
 * $GITHUB_STEP_SUMMARY when that is set), beside the other reports in --out; the patch threshold.
 */
async function writeReviewReports(merge: MergeResult, summary: CombineSummary, plan: ReviewPlan, written: CombineResult['reports'], thresholdErrors: string[]): Promise<void> {
  const report = written[0];
  const add = async (name: string, text: string) => {
    const file = join(plan.out, name);
    await mkdir(plan.out, { recursive: true });
    await writeFile(file, text);
    if (report && !report.files.includes(file)) report.files.push(file);
  };
  if (plan.diff) {
    summary.patch = patchCoverage(merge.builds[0]?.coverageMap ?? libCoverage.createCoverageMap({}), plan.diff.files);
    await add('coverage-patch.json', `${JSON.stringify(summary.patch, null, 2)}\n`);
    if (plan.thresholds?.patchLines !== undefined) thresholdErrors.push(...checkPatchThreshold(summary.patch, plan.thresholds.patchLines));
  }
  if (plan.markdown) {
    const md = markdownSummary(summary, thresholdErrors);
    await add(MARKDOWN_FILE, md);
    const step = plan.env.GITHUB_STEP_SUMMARY;
    if (step) {
      await appendFile(step, `${md}\n`).catch((e: Error) => {
        throw new CombineError(`GITHUB_STEP_SUMMARY=${step}: cannot append the Markdown summary (${e.message}); the reports are in ${plan.out}`, { cause: e });
      });
    }
  }
}

/** The bounds with the defaults filled in; each must be a positive number. */
export function resolveLimits(given: Partial<InputLimits> | undefined): InputLimits {
  const limits = { ...DEFAULT_LIMITS };
  for (const [k, v] of Object.entries(given ?? {}) as [keyof InputLimits, unknown][]) {
    if (!(k in DEFAULT_LIMITS)) throw new CombineError(`limits.${k} is not a bound; the bounds are ${Object.keys(DEFAULT_LIMITS).join(', ')}`);
    if (v === undefined) continue;
    if (typeof v !== 'number' || !(v > 0)) throw new CombineError(`${LIMIT_FLAGS[k]} must be a positive number, not ${JSON.stringify(v)}`);
    limits[k] = v;
  }
  return limits;
}

/** A build manifest from a local file or `s3://bucket/key` (the Lambda combiner has no build directory). */
async function readManifest(m: string, ctx: S3Context & { cwd: string }): Promise<{ manifest: BuildManifest; source: string; time: number }> {
  const s3url = parseS3Url(m);
  let bytes: Uint8Array | null;
  let source = m;
  let time = Date.now();
  if (s3url) {
    const c = ctx.client ?? (await createS3Client(ctx.options, ctx.env));
    try {
      bytes = await getObjectBytes(c, s3url.bucket, s3url.key, ctx.retry, { limits: ctx.limits, name: 'maxMapsBytes' });
    } finally {
      if (c !== ctx.client) c.destroy();
    }
    if (bytes === null) throw new CombineError(`--manifest ${m}: object not found`);
  } else {
    source = resolve(ctx.cwd, m);
    const st = await stat(source).catch((e: NodeJS.ErrnoException) => {
      throw new CombineError(`--manifest ${m}: ${e.code === 'ENOENT' ? 'file not found' : e.message}`, { cause: e });
    });
    checkStoredSize(st.size, `--manifest ${m}`, ctx.limits, 'maxMapsBytes');
    bytes = await readFile(source);
    time = st.mtimeMs;
  }
  return { manifest: parseManifest(decodeJsonGz(bytes, `--manifest ${m}`, ctx.limits, 'maxMapsBytes'), `--manifest ${m}`, ctx.limits), source, time };
}

interface ReportPlan {
  out: string;
  reporters: readonly string[];
  build: BuildMode;
  /** One per build (merge.builds), in order. */
  lookups: SourceLookup[];
  projectRoot: string;
  /** Set when --check-coverage is on. */
  thresholds?: Thresholds;
  /** --per-test: the whole merge's builds (with their per-test counters), and the sections --test kept. */
  perTest?: { builds: MergeResult['builds']; tests: TestInfo[]; only?: string[] };
}

/** Reports in one directory, or one per build (--build all); thresholds checked per report. */
async function writeAllReports(merge: MergeResult, sums: readonly CoverageSummary[], summary: CombineSummary, plan: ReportPlan) {
  const written: CombineResult['reports'] = [];
  let terminal = '';
  const thresholdErrors: string[] = [];
  for (const [i, b] of merge.builds.entries()) {
    const dir = plan.build === 'all' ? join(plan.out, keySegment(b.id)) : plan.out;
    await mkdir(dir, { recursive: true });
    const r = writeReports({ coverageMap: b.coverageMap, dir, reporters: plan.reporters, sources: plan.lookups[i]!, projectRoot: plan.projectRoot });
    if (plan.perTest) {
      const pt = writePerTest({ dir, files: plan.perTest.builds[i]!.files, tests: plan.perTest.tests, sources: plan.lookups[i]!, ...(plan.perTest.only ? { only: plan.perTest.only } : {}) });
      r.files = [...new Set([...r.files, ...pt.files])].sort();
      if (summary.tests) summary.tests.perTestPage = join(dir, pt.html);
    }
    written.push({ build: b.id, dir, files: r.files });
    if (r.terminal) terminal += plan.build === 'all' ? `${b.id}:\n${r.terminal}` : r.terminal;
    const cs = sums[i]!;
    summary.builds.push({ id: b.id, dir, files: b.files.length, totals: totalsOf(cs) });
    if (plan.thresholds) thresholdErrors.push(...checkThresholds(cs, plan.thresholds, plan.build === 'all' ? ` in ${b.id}` : ''));
  }
  // A gate that passes because nothing was read would hide a broken pipeline (wrong prefix, no access).
  if (plan.thresholds && summary.files === 0) {
    thresholdErrors.push(`ERROR: No coverage data to check (${summary.shards} shards and ${summary.coverageFiles} coverage files read)`);
  }
  return { written, terminal, thresholdErrors };
}
