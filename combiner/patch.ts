/**
 * Patch coverage: of the executable lines a diff adds or modifies, how many ran. Pure, over a merged
 * CoverageMap and the changed lines diff.ts read; combine() writes the result as coverage-patch.json.
 *
 * An executable line is one Istanbul's line coverage has (FileCoverage#getLineCoverage(): the lines
 * where a statement starts, as lcov's DA records and diff-cover read them), and it is covered when its
 * count is above 0. A diff's path is matched to a coverage path as it is: both are relative to the
 * project root (run `git diff --relative` in a project below the repository's root). A changed file
 * the coverage does not have (README.md, a file no bundle loaded) is listed as unmatched, not guessed.
 */
import type { CoverageMap } from 'istanbul-lib-coverage';

export interface PatchLines {
  covered: number;
  total: number;
  /** Percent, rounded down to 2 decimals as Istanbul rounds; 100 when no changed line is executable (as diff-cover). */
  pct: number;
}

export interface PatchFile {
  lines: PatchLines;
  /** The changed executable lines that did not run, ascending. */
  uncovered: number[];
}

/** coverage-patch.json. Its shape is for tools to rely on: fields are added, never renamed. */
export interface PatchCoverage {
  total: { lines: PatchLines };
  /**
   * Every covered file the diff adds lines to, by coverage path (sorted); a file whose changed lines
   * are none executable (comments, types) has total 0.
   */
  files: Record<string, PatchFile>;
  /** Files the diff adds lines to that the coverage does not have (sorted): not counted. */
  unmatched: string[];
}

/** Istanbul's percent (istanbul-lib-coverage lib/percent.js): rounded down to 2 decimals. */
export function percent(covered: number, total: number): number {
  return total > 0 ? Math.floor((1000 * 100 * covered) / total / 10) / 100 : 100;
}

/** Changed lines (file → line numbers of the new version) against the coverage of the new version. */
export function patchCoverage(map: CoverageMap, changed: ReadonlyMap<string, readonly number[]>): PatchCoverage {
  const known = new Set(map.files());
  const files: [string, PatchFile][] = [];
  const unmatched: string[] = [];
  let covered = 0;
  let total = 0;
  for (const [path, lines] of changed) {
    if (lines.length === 0) continue; // only deletions: nothing of this file's new version to run
    if (!known.has(path)) {
      unmatched.push(path);
      continue;
    }
    const hits = map.fileCoverageFor(path).getLineCoverage() as Record<number, number>;
    const uncovered: number[] = [];
    let fileCovered = 0;
    let fileTotal = 0;
    for (const line of lines) {
      const count = hits[line];
      if (count === undefined) continue;
      fileTotal++;
      if (count > 0) fileCovered++;
      else uncovered.push(line);
    }
    covered += fileCovered;
    total += fileTotal;
    files.push([path, { lines: { covered: fileCovered, total: fileTotal, pct: percent(fileCovered, fileTotal) }, uncovered }]);
  }
  files.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { total: { lines: { covered, total, pct: percent(covered, total) } }, files: Object.fromEntries(files), unmatched: unmatched.sort() };
}

/** `ERROR:` as the other thresholds say it; none when no changed line is executable (nothing to cover). */
export function checkPatchThreshold(patch: PatchCoverage, want: number): string[] {
  const { pct, total } = patch.total.lines;
  return total > 0 && pct < want ? [`ERROR: Coverage for patch lines (${pct}%) does not meet threshold (${want}%)`] : [];
}

/** `[3, 4, 5, 9]` → `["3-5", "9"]`. */
export function lineRanges(lines: readonly number[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const start = lines[i]!;
    while (i + 1 < lines.length && lines[i + 1] === lines[i]! + 1) i++;
    out.push(lines[i] === start ? `${start}` : `${start}-${lines[i]}`);
  }
  return out;
}
