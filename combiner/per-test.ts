/**
 * Per-test coverage in the merge: checking a packed shard's per-test records before any of it is
 * added, and reading the merged result per section. A section is one named test, `init` (the counters
 * moved while a module loaded) or `untagged` (the totals less init and every test, clamped at 0 per
 * counter: what no named test moved). Pure: no I/O, no Istanbul report code.
 *
 * The sections sum to the totals, counter by counter, when no invocation named several tests; an
 * invocation that named several (an SQS batch whose records name different tests) moved its counters
 * in each of them, so those counters count once per test there, and `untagged` is 0 where the tests
 * already exceed the totals.
 */
import { INIT_PHASE, UNTAGGED, boundMessage, isSafeName, quotePath, testNameProblem, TEST_FUNCTIONS_MAX, type InputLimits } from '../contract/format.js';
import type { PackedFile, PackedTests } from '../contract/decode.js';
import type { MergedFile } from './accumulator.js';

export { INIT_PHASE, UNTAGGED };

/** One named test across every input: its invocations and the functions it ran in. */
export interface TestInfo {
  name: string;
  invocations: number;
  functions: string[];
}

/** How many counters a packed file has (its s, f and every branch's arms). */
export function counterCountOf(f: PackedFile): number {
  let n = f.s + f.f;
  for (let i = 0; i < f.arms.length; i++) n += f.arms[i]!;
  return n;
}

/** Counter counts of a files list, kept per list (the decoders hand every shard of one layout the same). */
const lengthCache = new WeakMap<readonly PackedFile[], number[]>();
function lengthsOf(files: readonly PackedFile[]): number[] {
  let lengths = lengthCache.get(files);
  if (lengths === undefined) lengthCache.set(files, (lengths = files.map(counterCountOf)));
  return lengths;
}

/**
 * Why a packed shard's per-test records cannot be added, or undefined. The decoders check them as they
 * read; this holds for any PackedShard handed to the merger (the library API), so that a hostile
 * record is refused whole and named, never added in part.
 */
export function perTestProblem(pt: PackedTests, files: readonly PackedFile[], limits: InputLimits): string | undefined {
  const { tests, spans, pairs } = pt;
  if (!Array.isArray(tests) || !(spans instanceof Int32Array) || !(pairs instanceof Float64Array)) return 'per-test records are not lists';
  if (tests.length > limits.maxTests) return boundMessage('', 'maxTests', limits, `${tests.length} tests`).trim();
  const names = new Set<string>();
  for (const t of tests) {
    const problem = testNameProblem(t?.name);
    if (problem !== undefined) return `test name ${quotePath(String(t?.name).slice(0, 200))} ${problem}`;
    if (names.has(t.name)) return `test ${quotePath(t.name)} is listed twice`;
    names.add(t.name);
    if (!Number.isSafeInteger(t.invocations) || t.invocations <= 0) return `test ${quotePath(t.name)}: "invocations" must be a positive integer`;
    if (t.functions !== undefined && (!Array.isArray(t.functions) || t.functions.length > TEST_FUNCTIONS_MAX || !t.functions.every((f) => isSafeName(f, 1024)))) {
      return `test ${quotePath(t.name)}: "functions" must be a list of function names`;
    }
  }
  if (spans.length % 4 !== 0 || pairs.length % 2 !== 0) return 'per-test records are not whole';
  const nPairs = pairs.length / 2;
  const lengths = lengthsOf(files);
  for (let k = 0; k < spans.length; k += 4) {
    const t = spans[k]!;
    const file = spans[k + 1]!;
    const start = spans[k + 2]!;
    const end = spans[k + 3]!;
    if (!Number.isInteger(t) || t < -1 || t >= tests.length) return `per-test record ${k / 4} names test ${t}, of ${tests.length}`;
    const who = () => (t < 0 ? '"init"' : `test ${quotePath(tests[t]!.name)}`);
    if (!Number.isInteger(file) || file < 0 || file >= files.length) return `${who()}: a record names file ${file}, of ${files.length}`;
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end > nPairs) return `${who()}: a record's pairs ${start}…${end} are not within the ${nPairs} read`;
    const length = lengths[file]!;
    for (let j = start; j < end; j++) {
      const o = pairs[2 * j]!;
      const c = pairs[2 * j + 1]!;
      if (o >= 0 && o < length && c > 0 && c <= Number.MAX_SAFE_INTEGER && o % 1 === 0 && c % 1 === 0) continue;
      if (!Number.isInteger(o) || o < 0 || o >= length) return `${who()} file ${quotePath(files[file]!.path)}: names counter ${o}, past the file's ${length} counters`;
      if (!Number.isSafeInteger(c) || c <= 0) return `${who()} file ${quotePath(files[file]!.path)}: has count ${c}; counts are positive integers`;
    }
  }
  return undefined;
}

/** The names of a build's sections: its tests (sorted), then init and untagged. */
export function sectionNames(tests: readonly TestInfo[]): string[] {
  return [...tests.map((t) => t.name), INIT_PHASE, UNTAGGED];
}

/** The totals of a merged file, packed like its per-test counters (s, f, then every arm). */
export function packedTotals(file: MergedFile): Float64Array {
  const out = new Float64Array(file.s.length + file.f.length + file.b.reduce((n, a) => n + a.length, 0));
  out.set(file.s, 0);
  out.set(file.f, file.s.length);
  let o = file.s.length + file.f.length;
  for (const arm of file.b) { out.set(arm, o); o += arm.length; }
  return out;
}

/** `section`'s counters of one file, packed; all zero when the section moved none there. */
export function sectionCounters(file: MergedFile, section: string): Float64Array {
  if (section !== UNTAGGED) return file.perTest?.get(section) ?? new Float64Array(packedTotals(file).length);
  const out = packedTotals(file);
  for (const c of file.perTest?.values() ?? []) {
    for (let i = 0; i < out.length; i++) out[i] = out[i]! - c[i]!;
  }
  for (let i = 0; i < out.length; i++) if (out[i]! < 0) out[i] = 0;
  return out;
}

/** Whether a section moved any counter of the file. */
export function touches(counters: Float64Array): boolean {
  for (let i = 0; i < counters.length; i++) if (counters[i] !== 0) return true;
  return false;
}

/** A merged file whose counters are `packed` (its maps, times and path kept; no per-test data). */
export function withCounters(file: MergedFile, packed: Float64Array): MergedFile {
  const s = packed.slice(0, file.s.length);
  const f = packed.slice(file.s.length, file.s.length + file.f.length);
  const b: number[][] = [];
  let o = file.s.length + file.f.length;
  for (const arm of file.b) { b.push(Array.from(packed.subarray(o, o + arm.length))); o += arm.length; }
  const { perTest: _perTest, ...rest } = file;
  return { ...rest, s, f, b };
}

/** The files of a build with the counters of the sections named (summed): a report of just those tests. */
export function selectSections(files: readonly MergedFile[], sections: readonly string[]): MergedFile[] {
  return files.map((file) => {
    const sum = new Float64Array(packedTotals(file).length);
    for (const name of sections) {
      const c = sectionCounters(file, name);
      for (let i = 0; i < sum.length; i++) sum[i] = Math.min(Number.MAX_SAFE_INTEGER, sum[i]! + c[i]!);
    }
    return withCounters(file, sum);
  });
}

/**
 * Checks `--test` names against the tests found; the error message names the ones that exist (the
 * first 50, sorted), so a typo is found at once.
 */
export function unknownTestsMessage(asked: readonly string[], tests: readonly TestInfo[]): string | undefined {
  const known = new Set(sectionNames(tests));
  const unknown = [...new Set(asked)].filter((n) => !known.has(n));
  if (unknown.length === 0) return undefined;
  const names = tests.map((t) => t.name);
  const list = names.length === 0
    ? 'no shard read carries per-test records (only init and untagged exist)'
    : `the tests are ${names.slice(0, 50).map((n) => JSON.stringify(n)).join(', ')}${names.length > 50 ? `, … (${names.length - 50} more)` : ''}, and ${INIT_PHASE} and ${UNTAGGED}`;
  return `--test ${unknown.map((n) => JSON.stringify(n.slice(0, 200))).join(', ')}: no such test; ${list}`;
}
