/**
 * The tests a change affects (`lambda-coverage affected`): the tests whose covered lines meet the
 * lines a diff changed, and the changed executable lines no test covers, so a pipeline can run those
 * end-to-end tests first, or only them, and see what none of them reaches. `affectedTests` is the pure
 * core, over a diff's changed lines and the per-test covered lines; `affected` is the library call:
 * the inputs of `combine` read and merged (nothing written), then that core.
 */
import { combine, CombineError, type CombineOptions } from './combine.js';
import { testsDocument } from './per-test-report.js';

/** Per path, the changed lines (new-file numbering). */
export type ChangedLines = ReadonlyMap<string, readonly number[]>;
/** Per test, per path, the lines it covered. */
export type TestLines = ReadonlyMap<string, ReadonlyMap<string, ReadonlySet<number>>>;

export interface AffectedResult {
  /** Tests whose covered lines meet a changed line, by name; each with the changed lines it ran, per file. */
  tests: { name: string; files: Record<string, number[]> }[];
  /** Changed executable lines that no test (nor init or untagged invocations) covers, per file. */
  uncovered: Record<string, number[]>;
  /** Changed executable lines that only the init phase or untagged invocations ran, per file. */
  untaggedOnly: Record<string, number[]>;
  /** Paths of the diff that match no file of the coverage (not executable here, or not instrumented). */
  unmatched: string[];
}

/**
 * `executable`: per path, the lines that have a line entry in the coverage (Istanbul's line
 * coverage); `ran`: per path, the lines covered by anything (totals). Names in `tests` are the named
 * tests only: init and untagged are not tests a pipeline can run.
 */
export function affectedTests(changed: ChangedLines, tests: TestLines, executable: ReadonlyMap<string, ReadonlySet<number>>, ran: ReadonlyMap<string, ReadonlySet<number>>): AffectedResult {
  const hits = new Map<string, Record<string, number[]>>();
  const uncovered: Record<string, number[]> = {};
  const untaggedOnly: Record<string, number[]> = {};
  const unmatched: string[] = [];
  for (const [path, lines] of changed) {
    const exec = executable.get(path);
    if (exec === undefined) { unmatched.push(path); continue; }
    for (const line of lines) {
      if (!exec.has(line)) continue;
      let named = false;
      for (const [name, files] of tests) {
        if (files.get(path)?.has(line) !== true) continue;
        named = true;
        let rec = hits.get(name);
        if (rec === undefined) { rec = {}; hits.set(name, rec); }
        (rec[path] ??= []).push(line);
      }
      if (named) continue;
      if (ran.get(path)?.has(line) === true) (untaggedOnly[path] ??= []).push(line);
      else (uncovered[path] ??= []).push(line);
    }
  }
  const names = [...hits.keys()].sort();
  return { tests: names.map((name) => ({ name, files: hits.get(name)! })), uncovered, untaggedOnly, unmatched: unmatched.sort() };
}

export interface AffectedOptions extends Omit<CombineOptions, 'write' | 'perTest' | 'tests' | 'reporters' | 'out' | 'upload' | 'asShard' | 'checkCoverage' | 'thresholds'> {
  /** The change, as for combine: a unified diff file, `-` for stdin, or `s3://bucket/key`. */
  diff: string;
}

export interface AffectedReport extends AffectedResult {
  /** Named tests the shards carry (0: none named its test, so no test can be picked). */
  testsFound: number;
  shards: number;
  /** Changed executable lines in all. */
  changedLines: number;
}

/**
 * @example
 * import { affected } from 'lambda-coverage/combiner';
 *
 * const r = await affected({ bucket: 'my-coverage-bucket', diff: 'pr.diff' });
 * for (const t of r.tests) console.log(t.name);
 */
export async function affected(options: AffectedOptions): Promise<AffectedReport> {
  if (typeof options.diff !== 'string' || options.diff === '') {
    throw new CombineError('affected needs the change: --diff FILE (git diff origin/main...HEAD > pr.diff), or --diff - to read stdin');
  }
  const result = await combine({ ...options, write: false });
  const build = result.merge.builds[0];
  const tests = new Map<string, Map<string, Set<number>>>();
  const executable = new Map<string, Set<number>>();
  const ran = new Map<string, Set<number>>();
  if (build !== undefined) {
    const doc = testsDocument(build.files, result.merge.tests);
    for (const [name, t] of Object.entries(doc.tests)) {
      tests.set(name, new Map(Object.entries(t.files).map(([path, f]) => [path, new Set(f.lines)])));
    }
    for (const path of build.coverageMap.files()) {
      const lines = build.coverageMap.fileCoverageFor(path).getLineCoverage() as Record<number, number>;
      executable.set(path, new Set(Object.keys(lines).map(Number)));
      ran.set(path, new Set(Object.entries(lines).filter(([, n]) => n > 0).map(([l]) => Number(l))));
    }
  }
  const changed = result.changed ?? new Map<string, readonly number[]>();
  const core = affectedTests(changed, tests, executable, ran);
  let changedLines = 0;
  for (const [path, lines] of changed) {
    const exec = executable.get(path);
    if (exec !== undefined) for (const l of lines) if (exec.has(l)) changedLines++;
  }
  return { ...core, testsFound: result.merge.tests.length, shards: result.summary.shards, changedLines };
}
