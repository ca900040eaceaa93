/**
 * Per-test coverage in a shard (version 3): the counters each named test moved in one container, and
 * the counters moved while the module loaded (the `init` phase), as sparse records. The one owner of
 * the test-name rule and of the sparse layout, in both directions. Pure.
 *
 * A sparse record is one file's moved counters as `[gap, count, gap, count, …]`, over the file's
 * counters in packed order (its `s`, then its `f`, then every branch's arms in turn): the first offset
 * is `gap`, each next one is the previous offset + 1 + `gap`. Offsets only ascend, so a record can
 * never name one counter twice, and runs of neighbouring counters (the statements of one function)
 * are runs of zeros, which gzip takes to almost nothing.
 */

/** Longest test name: names come from request headers and message attributes, so they are bounded. */
export const TEST_NAME_MAX = 128;
/** The sections a per-test report adds for the counters no named test moved. */
export const INIT_PHASE = 'init';
export const UNTAGGED = 'untagged';
/**
 * Letters, digits, space and `_ . : / @ # + = ( ) [ ] ~ -`: enough for `checkout/pays with card` or
 * `orders:create (VIP)`, and nothing that means something in lcov's `TN:` record (`,`), HTML, Markdown
 * tables (`|`), a terminal or a log line.
 */
const TEST_NAME = /^[A-Za-z0-9_.:/@#+=()[\]~ -]+$/;

/** Why `name` cannot name a test, or undefined when it can. */
export function testNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || name === '') return 'is empty or not a string';
  if (name.length > TEST_NAME_MAX) return `is ${name.length} characters long, over ${TEST_NAME_MAX}`;
  if (!TEST_NAME.test(name)) return 'has a character outside letters, digits, space and _ . : / @ # + = ( ) [ ] ~ -';
  if (name !== name.trim()) return 'starts or ends with a space';
  if (name === INIT_PHASE || name === UNTAGGED) return `is "${name}", which names the counters of no test`;
  return undefined;
}

/** One file's moved counters: `[gap, count, …]` (see the top of this file). */
export type SparseCounters = number[];

/** What one test moved in one container: how many invocations named it, and per file its counters. */
export interface TestRecord {
  invocations: number;
  files: Record<string, SparseCounters>;
  /**
   * A combined shard's (`combine --as-shard`): the functions the test ran in, which its own
   * `functionName` no longer says. A runtime shard leaves it out (the shard's function is the one).
   */
  functions?: string[];
}

/** Most functions one test record of a combined shard may name. */
export const TEST_FUNCTIONS_MAX = 10_000;

/**
 * Encodes ascending offsets and their counts (parallel arrays, counts > 0) as a sparse record.
 */
export function encodeSparse(offsets: ArrayLike<number>, counts: ArrayLike<number>, n = offsets.length): SparseCounters {
  const out: number[] = new Array(n * 2);
  let prev = -1;
  for (let i = 0; i < n; i++) {
    const o = offsets[i]!;
    out[2 * i] = o - prev - 1;
    out[2 * i + 1] = counts[i]!;
    prev = o;
  }
  return out;
}

/** The same, from `[offset, count, offset, count, …]` pairs (offsets ascending, counts > 0). */
export function encodeSparsePairs(pairs: readonly number[]): SparseCounters {
  const out: number[] = new Array(pairs.length);
  let prev = -1;
  for (let i = 0; i < pairs.length; i += 2) {
    out[i] = pairs[i]! - prev - 1;
    out[i + 1] = pairs[i + 1]!;
    prev = pairs[i]!;
  }
  return out;
}

/**
 * Calls `fn(offset, count)` for each entry of a record read from untrusted input; returns why the
 * record is not one over `length` counters (not an array of integer pairs, a count of 0, an offset past
 * the end), or undefined. Nothing is called for a record that is refused.
 */
export function readSparse(rec: unknown, length: number, fn?: (offset: number, count: number) => void): string | undefined {
  if (!Array.isArray(rec) || rec.length % 2 !== 0) return 'is not an array of [gap, count] pairs';
  let o = -1;
  for (let i = 0; i < rec.length; i += 2) {
    const gap = rec[i];
    const count = rec[i + 1];
    if (!Number.isSafeInteger(gap) || (gap as number) < 0) return `has gap ${JSON.stringify(gap)} at ${i}; gaps are non-negative integers`;
    if (!Number.isSafeInteger(count) || (count as number) <= 0) return `has count ${JSON.stringify(count)} at ${i + 1}; counts are positive integers`;
    o += (gap as number) + 1;
    if (o >= length) return `names counter ${o}, past the file's ${length} counters`;
  }
  if (fn !== undefined) {
    o = -1;
    for (let i = 0; i < rec.length; i += 2) {
      o += rec[i] + 1;
      fn(o, rec[i + 1]);
    }
  }
  return undefined;
}
