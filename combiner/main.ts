/**
 * The `lambda-coverage` command line, as a function of argv (cli.ts is the process shell around it).
 * Exit codes: 0 ok, 1 coverage below a threshold, 2 usage or fatal error.
 */
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { combine, TooManyInvalidError, type CombineOptions } from './combine.js';
import { formatSummary, progressLine } from './summary.js';
import { DEFAULT_REPORTERS, METRICS, type Thresholds } from './reports.js';

export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Draw the progress bar (stderr is a terminal and not CI). */
  progress: boolean;
}

export const EXIT_OK = 0;
export const EXIT_THRESHOLD = 1;
export const EXIT_ERROR = 2;

class UsageError extends Error {
  override name = 'UsageError';
}

const COMBINE_OPTIONS = {
  bucket: { type: 'string' },
  prefix: { type: 'string' },
  function: { type: 'string', multiple: true },
  dir: { type: 'string', multiple: true },
  manifest: { type: 'string', multiple: true },
  out: { type: 'string' },
  reporter: { type: 'string', multiple: true },
  'source-root': { type: 'string' },
  upload: { type: 'boolean' },
  'output-prefix': { type: 'string' },
  'run-id': { type: 'string' },
  'check-coverage': { type: 'boolean' },
  lines: { type: 'string' },
  branches: { type: 'string' },
  functions: { type: 'string' },
  statements: { type: 'string' },
  'max-invalid': { type: 'string' },
  'max-shard-mb': { type: 'string' },
  'max-maps-mb': { type: 'string' },
  'max-files': { type: 'string' },
  'max-counters': { type: 'string' },
  'max-path-length': { type: 'string' },
  build: { type: 'string' },
  'path-map': { type: 'string', multiple: true },
  'as-shard': { type: 'string' },
  concurrency: { type: 'string' },
  threads: { type: 'string' },
  timeout: { type: 'string' },
  'endpoint-url': { type: 'string' },
  'force-path-style': { type: 'boolean' },
  region: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean' },
  'no-progress': { type: 'boolean' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

const COMBINE_HELP = `Usage: lambda-coverage combine [options]

Merge coverage shards written by deployed Lambda functions (and plain Istanbul coverage files) into one report.

Inputs
  --bucket NAME            read shards from s3://NAME/{prefix}{function}/shards/
  --prefix P               key prefix the runtime writes under (default: coverage/)
  --function NAME          only this function (repeatable; default: all)
  --dir PATH               shards, coverage-final.json files or .nyc_output on disk (repeatable)
  --manifest FILE          build manifest: files that never ran appear with 0% (repeatable)
  --path-map FROM=TO       rewrite absolute build-machine paths, e.g. /home/ci/app=. (repeatable)
  --build newest|all       newest version of each file (default) or one report per build
  --max-invalid N          fail (exit 2) when more than N inputs are invalid (default: report only)

Bounds (an input over one is skipped and named; the combine goes on)
  --max-shard-mb N         a shard or coverage file, stored and inflated (default: 32)
  --max-maps-mb N          a maps document or build manifest, stored and inflated (default: 256)
  --max-files N            files in one input (default: 50000)
  --max-counters N         counters of one file (default: 1000000)
  --max-path-length N      characters of one file path (default: 1024)

Reports
  --out DIR                report directory (default: coverage)
  --reporter NAME          any istanbul-reports name, repeatable (default: ${DEFAULT_REPORTERS.join(', ')})
  --source-root DIR        where the HTML report reads sources (default: .)
  --upload                 also write the reports to s3://BUCKET/{prefix}combined/{run-id}/
  --output-prefix P        upload here instead
  --run-id ID              name of this run (default: time-based)
  --as-shard FILE|s3://B/K write the merged result as a shard that can be combined again
  --json                   print the summary as JSON on stdout

Thresholds
  --check-coverage         exit 1 when a metric is below its threshold (default: --lines 90)
  --lines N --branches N --functions N --statements N

S3
  --endpoint-url URL       S3-compatible endpoint (else COVERAGE_S3_ENDPOINT, AWS_ENDPOINT_URL_S3)
  --force-path-style       path-style URLs (else COVERAGE_S3_FORCE_PATH_STYLE=1)
  --region R               (else AWS_REGION; default us-east-1, redirects followed)
  --concurrency N          downloads in flight (default: 16)
  --timeout SECONDS        per request, retried up to 4 times (default: 30)
  --threads N              worker threads decoding shards, 0 = none (default: one per core, at most 4)

  --quiet                  no summary;  --no-progress  no progress bar
  --verbose                list every skipped input and dropped version; stack traces on errors
`;

const TOP_HELP = `Usage: lambda-coverage <command> [options]

Commands
  combine    merge coverage shards from S3 or disk into Istanbul reports (lambda-coverage combine --help)
  layer      build the Lambda layer zip (lambda-coverage layer --out dist/lambda-coverage-layer.zip)

Options
  --help, -h     this help
  --version      print the version
`;

function num(name: string, value: string | undefined, opts: { min?: number; max?: number; integer?: boolean } = {}): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || (opts.integer && !Number.isInteger(n)) || (opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max)) {
    const range = opts.max !== undefined ? ` between ${opts.min ?? 0} and ${opts.max}` : opts.min !== undefined ? ` ≥ ${opts.min}` : '';
    throw new UsageError(`--${name} must be a ${opts.integer ? 'whole ' : ''}number${range}, not "${value}"`);
  }
  return n;
}

function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false });
  } catch (e) {
    throw new UsageError((e as Error).message, { cause: e });
  }
}

/** argv (without the command name) → combine options. Exported for tests. */
export function parseCombineArgs(args: string[], io: Pick<CliIO, 'env' | 'cwd'>): { options: CombineOptions; flags: { json: boolean; quiet: boolean; progress: boolean; verbose: boolean; help: boolean } } {
  const { values: v } = parse(args, COMBINE_OPTIONS);
  const thresholds: Thresholds = {};
  for (const m of METRICS) {
    const t = num(m, v[m], { min: 0, max: 100 });
    if (t !== undefined) thresholds[m] = t;
  }
  if (v.build !== undefined && v.build !== 'newest' && v.build !== 'all') throw new UsageError(`--build must be "newest" or "all", not "${v.build}"`);
  const timeout = num('timeout', v.timeout, { min: 0.001 });
  const mb = (name: string, value: string | undefined) => {
    const n = num(name, value, { min: 0.000001 });
    return n === undefined ? undefined : Math.round(n * 1024 * 1024);
  };
  const limits = {
    maxInputBytes: mb('max-shard-mb', v['max-shard-mb']),
    maxMapsBytes: mb('max-maps-mb', v['max-maps-mb']),
    maxFiles: num('max-files', v['max-files'], { min: 1, integer: true }),
    maxCounters: num('max-counters', v['max-counters'], { min: 1, integer: true }),
    maxPathLength: num('max-path-length', v['max-path-length'], { min: 1, integer: true }),
  };
  const options: CombineOptions = {
    ...(v.bucket !== undefined ? { bucket: v.bucket } : {}),
    ...(v.prefix !== undefined ? { prefix: v.prefix } : {}),
    ...(v.function ? { functions: v.function } : {}),
    ...(v.dir ? { dirs: v.dir } : {}),
    ...(v.manifest ? { manifests: v.manifest } : {}),
    ...(v.out !== undefined ? { out: v.out } : {}),
    ...(v.reporter ? { reporters: v.reporter.flatMap((r) => r.split(',')).filter(Boolean) } : {}),
    ...(v['source-root'] !== undefined ? { sourceRoot: v['source-root'] } : {}),
    upload: v.upload ?? false,
    ...(v['output-prefix'] !== undefined ? { outputPrefix: v['output-prefix'] } : {}),
    ...(v['run-id'] !== undefined ? { runId: v['run-id'] } : {}),
    checkCoverage: v['check-coverage'] ?? false,
    thresholds,
    ...(Object.values(limits).some((x) => x !== undefined) ? { limits } : {}),
    ...(v['max-invalid'] !== undefined ? { maxInvalid: num('max-invalid', v['max-invalid'], { min: 0, integer: true })! } : {}),
    ...(v.build ? { build: v.build as 'newest' | 'all' } : {}),
    ...(v['path-map'] ? { pathMap: v['path-map'] } : {}),
    ...(v['as-shard'] !== undefined ? { asShard: v['as-shard'] } : {}),
    ...(v.concurrency !== undefined ? { concurrency: num('concurrency', v.concurrency, { min: 1, max: 1024, integer: true })! } : {}),
    ...(v.threads !== undefined ? { threads: num('threads', v.threads, { min: 0, max: 64, integer: true })! } : {}),
    ...(timeout !== undefined ? { timeoutMs: Math.round(timeout * 1000) } : {}),
    ...(v['endpoint-url'] !== undefined ? { endpointUrl: v['endpoint-url'] } : {}),
    ...(v['force-path-style'] ? { forcePathStyle: true } : {}),
    ...(v.region !== undefined ? { region: v.region } : {}),
    env: io.env,
    cwd: io.cwd,
  };
  if (!v.help && !options.bucket && !options.dirs) throw new UsageError('give --bucket (shards in S3) or --dir (shards or coverage files on disk)');
  return {
    options,
    flags: { json: v.json ?? false, quiet: v.quiet ?? false, progress: !v['no-progress'], verbose: v.verbose ?? false, help: v.help ?? false },
  };
}

async function runCombine(args: string[], io: CliIO): Promise<number> {
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

/**
 * `lambda-coverage layer --out dist/lambda-coverage-layer.zip`: builds the layer zip with the runtime's
 * builder (runtime/layer-build.ts `buildLayer({ out })`), loaded only for this command.
 */
async function runLayer(args: string[], io: CliIO): Promise<number> {
  const { values } = parse(args, { out: { type: 'string' }, help: { type: 'boolean', short: 'h' }, verbose: { type: 'boolean' } });
  if (values.help) {
    io.stdout('Usage: lambda-coverage layer [--out dist/lambda-coverage-layer.zip]\n\nBuilds the Lambda layer zip (exec wrapper, preload, runtime).\n');
    return EXIT_OK;
  }
  const { buildLayer } = await import('../runtime/layer-build.js');
  const out = resolve(io.cwd, values.out ?? 'dist/lambda-coverage-layer.zip');
  buildLayer({ out, print: (line) => io.stdout(`${line}\n`) });
  return EXIT_OK;
}

/** Subcommands: `combine` (this part) and `layer` (the runtime's layer builder). */
const COMMANDS: Record<string, (args: string[], io: CliIO) => Promise<number>> = {
  combine: runCombine,
  layer: runLayer,
};

function version(): string {
  const require = createRequire(import.meta.url);
  // dist/combiner/main.js and combiner/main.ts sit at different depths below package.json.
  for (const rel of ['../../package.json', '../package.json']) {
    try {
      const pkg = require(rel) as { name?: string; version?: string };
      if (pkg.name === 'lambda-coverage' && pkg.version) return pkg.version;
    } catch { /* try the next */ }
  }
  return 'unknown';
}

function defaultIO(): CliIO {
  return {
    stdout: (t) => { process.stdout.write(t); },
    stderr: (t) => { process.stderr.write(t); },
    env: process.env,
    cwd: process.cwd(),
    progress: !!process.stderr.isTTY && !process.env.CI,
  };
}

/** Runs the CLI on `argv` (without `node` and the script) and returns the exit code. */
export async function main(argv: string[], ioOverrides: Partial<CliIO> = {}): Promise<number> {
  const io: CliIO = { ...defaultIO(), ...ioOverrides };
  const verbose = argv.includes('--verbose');
  const [first, ...rest] = argv;
  try {
    if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
      io.stdout(TOP_HELP);
      return first === undefined ? EXIT_ERROR : EXIT_OK;
    }
    if (first === '--version' || first === '-v') {
      io.stdout(`${version()}\n`);
      return EXIT_OK;
    }
    const command = COMMANDS[first];
    if (!command) throw new UsageError(`unknown command "${first}"; try: lambda-coverage combine --help`);
    return await command(rest, io);
  } catch (e) {
    const err = e as Error;
    // Bad option values found by the library (a --path-map without '=', an unknown reporter) are usage errors too.
    const usage = err instanceof UsageError || ['CombineError', 'PathMapError', 'ReporterError'].includes(err?.name);
    io.stderr(`lambda-coverage: ${usage ? '' : 'error: '}${err.message}\n`);
    if (usage) io.stderr('Run "lambda-coverage combine --help" for the options.\n');
    if (verbose && err.stack) io.stderr(`${err.stack}\n`);
    else if (!usage) io.stderr('(--verbose shows the stack)\n');
    return EXIT_ERROR;
  }
}
