/**
 * `lambda-coverage affected --diff FILE` (with the inputs of `combine`): the tests whose covered lines
 * meet the lines the diff changes, one per line on stdout, so a pipeline can run them first or only
 * them (`--json` for tools); the changed lines no test covers go to stderr. Its options are combine's
 * own declarations (the inputs, bounds and S3 settings, --json and the output flags), taken by flag,
 * so each is still declared once; a thin shell over affected().
 */
import { affected, type AffectedOptions, type AffectedReport } from '../affected.js';
import { lineRanges } from '../patch.js';
import { diffPathText } from '../summary.js';
import { COMBINE_OPTIONS, type CombineOptionSpec } from './combine.js';
import { EXIT_OK, UsageError, type CliIO, type Command } from './io.js';
import { parseOptions, renderHelp } from './options.js';

const TAKEN = new Set(['json', 'quiet', 'verbose', 'no-progress']);

/** combine's inputs, bounds and S3 settings, and --json and the output flags (descriptions as there). */
export const AFFECTED_OPTIONS: readonly CombineOptionSpec[] = COMBINE_OPTIONS.filter((o) =>
  (o.section === 'inputs' || o.section === 'bounds' || o.section === 's3' || TAKEN.has(o.flag)) && !['build', 'max-invalid', 'max-sources-mb'].includes(o.flag))
  .map((o) => (o.flag === 'diff' ? { ...o, description: 'the change: a unified diff (git diff origin/main...HEAD > FILE; - reads stdin); required' }
    : o.flag === 'json' ? { ...o, description: 'print the tests, the lines each ran and the uncovered changed lines as JSON on stdout' } : o));

export const AFFECTED_HELP = renderHelp({
  usage: 'Usage: lambda-coverage affected --diff FILE (--bucket NAME | --dir PATH) [options]',
  description: 'Print the tests whose covered lines a change touches (per-test coverage, one name per line), and the changed lines no test covers.',
  sections: { inputs: 'Inputs', bounds: 'Bounds', reports: 'Output', thresholds: '', s3: 'S3', output: '' },
  options: AFFECTED_OPTIONS,
});

/** The lines of a report for stderr: what no test covers, and what only untagged work ran. */
export function affectedNotes(r: AffectedReport): string {
  const lines: string[] = [];
  if (r.testsFound === 0) {
    lines.push('lambda-coverage: no shard carries per-test coverage, so no test can be named: tag the invocations of your tests (x-lambda-coverage-test header, baggage, client context or message attribute; docs/runtime.md, "Per-test coverage")');
  }
  const list = (files: Record<string, number[]>) => Object.entries(files).sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([path, ls]) => `  ${path}: ${lineRanges(ls).join(', ')}`);
  const count = (files: Record<string, number[]>) => Object.values(files).reduce((n, ls) => n + ls.length, 0);
  lines.push(`lambda-coverage: ${r.tests.length} of ${r.testsFound} tests ran the ${r.changedLines} changed executable line(s) (${r.shards} shards)`);
  if (count(r.uncovered) > 0) lines.push(`changed lines no test covers (${count(r.uncovered)}):`, ...list(r.uncovered));
  if (count(r.untaggedOnly) > 0) lines.push(`changed lines only untagged invocations or module load ran (${count(r.untaggedOnly)}):`, ...list(r.untaggedOnly));
  // Named by the diff: shown quoted when a name is not a plain project path (a terminal reads it).
  if (r.unmatched.length > 0) lines.push(`changed files the coverage does not have (not counted): ${r.unmatched.map(diffPathText).join(', ')}`);
  return `${lines.join('\n')}\n`;
}

async function run(args: string[], io: CliIO): Promise<number> {
  const { values, help } = parseOptions(AFFECTED_OPTIONS, args);
  if (help) {
    io.stdout(AFFECTED_HELP);
    return EXIT_OK;
  }
  const { flags, ...given } = values as Record<string, unknown> & { flags?: { json?: boolean; quiet?: boolean } };
  const options = { ...given, env: io.env, cwd: io.cwd } as AffectedOptions;
  if (!options.diff) throw new UsageError('affected needs the change: --diff FILE (git diff origin/main...HEAD > pr.diff), or --diff - to read stdin');
  if (!options.bucket && !options.dirs) throw new UsageError('give --bucket (shards in S3) or --dir (shards or coverage files on disk)');
  const r = await affected(options);
  if (flags?.json) {
    io.stdout(`${JSON.stringify(r, null, 2)}\n`);
  } else {
    for (const t of r.tests) io.stdout(`${t.name}\n`);
    if (!flags?.quiet) io.stderr(affectedNotes(r));
  }
  return EXIT_OK;
}

export const affectedCommand: Command = {
  name: 'affected',
  summary: 'the tests a diff touches, from per-test coverage (lambda-coverage affected --help)',
  options: AFFECTED_OPTIONS,
  run,
};
