/**
 * `lambda-coverage combine`: its options, each declared once (flag, type, description, default, help
 * section, the CombineOptions field it sets, and whether the Lambda event takes it), and the command
 * itself, a thin shell over combine(). The help is rendered from COMBINE_OPTIONS, the event check
 * (combiner/event.ts) is derived from it, and test/combiner/options-docs.test.ts holds the README's and
 * docs/combiner.md's option tables to it.
 */
import { combine, TooManyInvalidError, type CombineOptions } from '../combine.js';
import { formatSummary, progressLine } from '../summary.js';
import { DEFAULT_REPORTERS, METRICS, type Metric } from '../reports.js';
import { DEFAULT_LIMITS, type InputLimits } from '../../contract/format.js';
import { EXIT_OK, EXIT_THRESHOLD, UsageError, type CliIO, type Command } from './io.js';
import { parseOptions, renderHelp, type NumberRule, type OptionSpec } from './options.js';

/** What the command does besides combine(): output and help. */
export interface CombineFlags {
  json: boolean;
  quiet: boolean;
  progress: boolean;
  verbose: boolean;
  help: boolean;
}

type CombineField =
  | keyof CombineOptions
  | `limits.${keyof InputLimits}`
  | `thresholds.${Metric | 'patchLines'}`
  | `flags.${Exclude<keyof CombineFlags, 'help'>}`;

const SECTIONS = {
  inputs: 'Inputs',
  bounds: 'Bounds (an input over one is skipped and named; the combine goes on)',
  reports: 'Reports',
  thresholds: 'Thresholds',
  s3: 'S3',
  output: '',
} as const;

/**
 * Whether the Lambda event (combiner/event.ts) takes an option, under the name of its CombineOptions
 * field (`functions`, `outputPrefix`, `thresholds.lines`): `false` for what only a command line has
 * (local paths, terminal output, the function's own S3 settings) or the event takes in another form.
 */
export type EventUse = false | true | {
  /** The event must have it: why (`event.bucket is required (…)`). */
  required?: string;
  /** Only `s3://bucket/key` URLs: the combiner Lambda reads no local files named by an event. */
  s3Only?: true;
  /** The event's own range, where it differs from the flag's. */
  range?: NumberRule;
};

export interface CombineOptionSpec extends OptionSpec<CombineField, keyof typeof SECTIONS> {
  event: EventUse;
}

const MiB = 1024 * 1024;
const mb = (n: number) => Math.round(n * MiB);
const MB_RULE: NumberRule = { min: 0.000001 };
const COUNT_RULE: NumberRule = { min: 1, integer: true };
const code = (s: string | number | boolean) => `\`${s}\``;

export const COMBINE_OPTIONS: readonly CombineOptionSpec[] = [
  { flag: 'bucket', arg: 'NAME', type: 'string', section: 'inputs', field: 'bucket',
    description: 'read shards from s3://NAME/{prefix}{function}/shards/',
    event: { required: 'the bucket the runtime writes shards to' } },
  { flag: 'prefix', arg: 'P', type: 'string', section: 'inputs', field: 'prefix', default: code('coverage/'),
    description: 'key prefix the runtime writes under', event: true },
  { flag: 'function', arg: 'NAME', type: 'string', multiple: true, section: 'inputs', field: 'functions', default: 'all under the prefix',
    description: 'only this function', event: true },
  // A local path: never taken from an event.
  { flag: 'dir', arg: 'PATH', type: 'string', multiple: true, section: 'inputs', field: 'dirs',
    description: 'shards, coverage-final.json files or .nyc_output on disk', event: false },
  { flag: 'manifest', arg: 'FILE', type: 'string', multiple: true, section: 'inputs', field: 'manifests',
    description: 'build manifest: files that never ran appear with 0%', event: { s3Only: true } },
  // Patch coverage (combiner/diff.ts, combiner/patch.ts); the event takes the diff from S3 only.
  { flag: 'diff', arg: 'FILE', type: 'string', section: 'inputs', field: 'diff',
    description: 'coverage of the lines a unified diff changes, to coverage-patch.json (git diff origin/main...HEAD > FILE; - reads stdin)', event: { s3Only: true } },
  { flag: 'max-diff-mb', arg: 'N', type: 'number', range: MB_RULE, section: 'inputs', field: 'limits.maxDiffBytes', convert: mb,
    default: code(DEFAULT_LIMITS.maxDiffBytes / MiB), description: 'largest --diff read', event: false },
  { flag: 'path-map', arg: 'FROM=TO', type: 'string', multiple: true, section: 'inputs', field: 'pathMap', default: 'common prefix detected',
    description: 'rewrite absolute build-machine paths, e.g. /home/ci/app=.', event: true },
  { flag: 'build', arg: 'newest|all', type: 'string', choices: ['newest', 'all'], section: 'inputs', field: 'build', default: code('newest'),
    description: 'newest version of each file, or one report per build', event: true },
  { flag: 'max-invalid', arg: 'N', type: 'number', range: { min: 0, integer: true }, section: 'inputs', field: 'maxInvalid', default: 'no limit',
    description: 'fail (exit 2) when more than N inputs are invalid', event: true },

  // The event takes these as `limits`, in bytes, as combine() does (combiner/event.ts).
  { flag: 'max-shard-mb', arg: 'N', type: 'number', range: MB_RULE, section: 'bounds', field: 'limits.maxInputBytes', convert: mb,
    default: code(DEFAULT_LIMITS.maxInputBytes / MiB), description: 'a shard or coverage file, stored and inflated', event: false },
  { flag: 'max-maps-mb', arg: 'N', type: 'number', range: MB_RULE, section: 'bounds', field: 'limits.maxMapsBytes', convert: mb,
    default: code(DEFAULT_LIMITS.maxMapsBytes / MiB), description: 'a maps document or build manifest, stored and inflated', event: false },
  { flag: 'max-sources-mb', arg: 'N', type: 'number', range: MB_RULE, section: 'bounds', field: 'limits.maxSourcesBytes', convert: mb,
    default: code(DEFAULT_LIMITS.maxSourcesBytes / MiB), description: 'a sources document (source text stored with a build), stored and inflated', event: false },
  { flag: 'max-files', arg: 'N', type: 'number', range: COUNT_RULE, section: 'bounds', field: 'limits.maxFiles',
    default: code(DEFAULT_LIMITS.maxFiles), description: 'files in one input', event: false },
  { flag: 'max-counters', arg: 'N', type: 'number', range: COUNT_RULE, section: 'bounds', field: 'limits.maxCounters',
    default: code(DEFAULT_LIMITS.maxCounters), description: 'counters of one file', event: false },
  { flag: 'max-path-length', arg: 'N', type: 'number', range: COUNT_RULE, section: 'bounds', field: 'limits.maxPathLength',
    default: code(DEFAULT_LIMITS.maxPathLength), description: 'characters of one file path', event: false },
  { flag: 'max-tests', arg: 'N', type: 'number', range: COUNT_RULE, section: 'bounds', field: 'limits.maxTests',
    default: code(DEFAULT_LIMITS.maxTests), description: 'named tests in one shard', event: false },

  // The handler writes its reports under /tmp, reads no sources and always uploads.
  { flag: 'out', arg: 'DIR', type: 'string', section: 'reports', field: 'out', default: code('coverage'),
    description: 'report directory', event: false },
  { flag: 'reporter', arg: 'NAME', type: 'string', multiple: true, section: 'reports', field: 'reporters',
    convert: (v: string[]) => v.flatMap((r) => r.split(',')).filter(Boolean),
    default: DEFAULT_REPORTERS.map(code).join(', '), description: 'any istanbul-reports name or markdown, or several comma-separated', event: true },
  { flag: 'source-root', arg: 'DIR', type: 'string', section: 'reports', field: 'sourceRoot', default: code('.'),
    description: 'where the HTML report reads sources', event: false },
  { flag: 'upload', type: 'boolean', section: 'reports', field: 'upload', default: code(false),
    description: 'also write the reports to s3://BUCKET/{prefix}combined/{run-id}/', event: false },
  { flag: 'output-prefix', arg: 'P', type: 'string', section: 'reports', field: 'outputPrefix', default: code('{prefix}combined/{run-id}/'),
    description: 'upload here instead', event: true },
  { flag: 'run-id', arg: 'ID', type: 'string', section: 'reports', field: 'runId', default: 'UTC time + random suffix',
    description: 'name of this run', event: true },
  { flag: 'as-shard', arg: 'FILE|s3://B/KEY', type: 'string', section: 'reports', field: 'asShard',
    description: 'write the merged result as a shard that can be combined again', event: { s3Only: true } },
  { flag: 'per-test', type: 'boolean', section: 'reports', field: 'perTest', default: code(false),
    description: 'which test ran each line: lcov.info with a TN: section per test, coverage-tests.json, per-test/index.html', event: true },
  { flag: 'test', arg: 'NAME', type: 'string', multiple: true, section: 'reports', field: 'tests', default: 'every test',
    description: 'reports and thresholds of just this test (repeatable; init and untagged too)', event: true },
  { flag: 'json', type: 'boolean', section: 'reports', field: 'flags.json', default: code(false),
    description: 'print the summary as JSON on stdout', event: false },

  // The event checks thresholds whenever it gives them.
  { flag: 'check-coverage', type: 'boolean', section: 'thresholds', field: 'checkCoverage', default: code(false),
    description: 'exit 1 when a metric is below its threshold (none given: --lines 90)', event: false },
  ...METRICS.map((m): CombineOptionSpec => ({
    flag: m, arg: 'N', type: 'number', range: { min: 0, max: 100 }, section: 'thresholds', field: `thresholds.${m}`,
    description: `threshold for ${m}, in percent`, event: true,
  })),
  { flag: 'patch-lines', arg: 'N', type: 'number', range: { min: 0, max: 100 }, section: 'thresholds', field: 'thresholds.patchLines',
    description: 'threshold for the changed lines of --diff, in percent (a diff that changes no executable line passes)', event: true },

  // The function's own S3 settings and worker threads are its configuration (createHandler), not the event's.
  { flag: 'endpoint-url', arg: 'URL', type: 'string', section: 's3', field: 'endpointUrl', default: '`COVERAGE_S3_ENDPOINT`, else `AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL`',
    description: 'S3-compatible endpoint', event: false },
  { flag: 'force-path-style', type: 'boolean', section: 's3', field: 'forcePathStyle', default: '`COVERAGE_S3_FORCE_PATH_STYLE` (a flag)',
    description: 'path-style URLs', event: false },
  { flag: 'region', arg: 'R', type: 'string', section: 's3', field: 'region', default: '`AWS_REGION`, `AWS_DEFAULT_REGION`, else `us-east-1`',
    description: 'region of the bucket, redirects followed', event: false },
  // combine() defaults: concurrency 16, timeoutMs 30000 (4 attempts).
  { flag: 'concurrency', arg: 'N', type: 'number', range: { min: 1, max: 1024, integer: true }, section: 's3', field: 'concurrency', default: code(16),
    description: 'downloads in flight', event: { range: { min: 1, integer: true } } },
  { flag: 'timeout', arg: 'SECONDS', type: 'number', range: { min: 0.001 }, section: 's3', field: 'timeoutMs', convert: (s: number) => Math.round(s * 1000),
    default: code(30), description: 'per request, retried up to 4 times', event: false },
  { flag: 'threads', arg: 'N', type: 'number', range: { min: 0, max: 64, integer: true }, section: 's3', field: 'threads', default: 'one per core, at most 4',
    description: 'worker threads decoding shards, 0 = none', event: false },

  { flag: 'quiet', type: 'boolean', section: 'output', field: 'flags.quiet', default: code(false), description: 'no summary', event: false },
  { flag: 'no-progress', type: 'boolean', section: 'output', field: 'flags.progress', convert: () => false, default: code(false),
    description: 'no progress bar', event: false },
  { flag: 'verbose', type: 'boolean', section: 'output', field: 'flags.verbose', default: code(false),
    description: 'list every skipped input and dropped version; stack traces on errors', event: false },
];

export const COMBINE_HELP = renderHelp({
  usage: 'Usage: lambda-coverage combine [options]',
  description: 'Merge coverage shards written by deployed Lambda functions (and plain Istanbul coverage files) into one report.',
  sections: SECTIONS,
  options: COMBINE_OPTIONS,
});

/** argv (without the command name) → combine options and the command's own flags. */
export function parseCombineArgs(args: string[], io: Pick<CliIO, 'env' | 'cwd'>): { options: CombineOptions; flags: CombineFlags } {
  const { values: { flags, ...given }, help } = parseOptions(COMBINE_OPTIONS, args);
  const options: CombineOptions = { upload: false, checkCoverage: false, thresholds: {}, ...given, env: io.env, cwd: io.cwd };
  if (!help && !options.bucket && !options.dirs) throw new UsageError('give --bucket (shards in S3) or --dir (shards or coverage files on disk)');
  return {
    options,
    flags: { json: false, quiet: false, progress: true, verbose: false, ...(flags as Partial<CombineFlags> | undefined), help },
  };
}

async function run(args: string[], io: CliIO): Promise<number> {
  const { options, flags } = parseCombineArgs(args, io);
  if (flags.help) {
    io.stdout(COMBINE_HELP);
    return EXIT_OK;
  }
  if (!options.checkCoverage && Object.keys(options.thresholds ?? {}).length > 0) {
    io.stderr('lambda-coverage: thresholds are only checked with --check-coverage (as in nyc and c8); add it to fail the run below them\n');
  }
  let lastDraw = 0;
  let drawn = false;
  if (flags.progress && io.progress && !flags.json) {
    options.onProgress = (p) => {
      const now = Date.now();
      if (now - lastDraw < 100 && p.listing) return;
      lastDraw = now;
      drawn = true;
      io.stderr(`\r${progressLine(p)}`);
    };
  }
  try {
    const result = await combine(options);
    if (drawn) io.stderr('\r\x1b[K');
    if (flags.json) {
      const { merge: _merge, ...rest } = result;
      io.stdout(`${JSON.stringify({ ...rest, reports: rest.reports.map((r) => ({ build: r.build, dir: r.dir, files: r.files.length })) }, null, 2)}\n`);
    } else {
      if (result.terminal) io.stdout(result.terminal.endsWith('\n') ? result.terminal : `${result.terminal}\n`);
      if (!flags.quiet) io.stderr(formatSummary(result.summary, result, flags.verbose));
    }
    for (const line of result.thresholdErrors) io.stderr(`${line}\n`);
    return result.thresholdErrors.length > 0 ? EXIT_THRESHOLD : EXIT_OK;
  } catch (e) {
    if (drawn) io.stderr('\r\x1b[K');
    if (e instanceof TooManyInvalidError && !flags.quiet) io.stderr(formatSummary(e.summary, undefined, flags.verbose));
    throw e;
  }
}

export const combineCommand: Command = {
  name: 'combine',
  summary: 'merge coverage shards from S3 or disk into Istanbul reports (lambda-coverage combine --help)',
  options: COMBINE_OPTIONS,
  run,
};
