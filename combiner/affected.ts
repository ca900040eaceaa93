/**
 * The tests a change affects: the tests whose covered lines meet the lines a diff changed, and the
 * changed executable lines no test covers (so a pipeline can run those tests first, or only them, and
 * see what no end-to-end test reaches). Pure: over the changed lines of a diff and the per-test
 * covered lines of a combine.
 */

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
