/**
 * The per-test half of a container's shard (contract/tests.ts): for each named test, the counters its
 * invocations moved, and the counters moved while the module loaded (init). A Lambda execution
 * environment runs one invocation at a time, so the counters that moved between two snapshots are
 * exactly that invocation's: the collector hands each flush's moves here (takeSnapshot's `moved`), and
 * they are added to the tests that invocation named. Records are cumulative, like the shard's totals,
 * and go out with every shard, compressed apart from the rest of it (shardMembers), so a flush after
 * an untagged invocation serializes and compresses nothing new.
 */
import { encodeSparse, encodeSparsePairs, type FileCounters, type SparseCounters } from '../contract/format.js';
import type { MovedCounters } from './snapshot.js';

interface TestState {
  name: string;
  /** Its member of the shard's per-test gzip members (see shardMembers). */
  chunk: Chunk;
  invocations: number;
  /**
   * Per file: `[offset, count, offset, count, …]`, offsets (packed order) ascending. Plain arrays of
   * small integers: a Map per test and file cost several times the memory (measured: 200 tests of a
   * 320-file function held ~34 MB that way).
   */
  files: Map<string, number[]>;
  /** This test's `{"invocations":…,"files":{…}}`, until it moves again. */
  json: string | undefined;
}

/** Tests that share a gzip member, and that member until one of them moves again. */
interface Chunk {
  tests: TestState[];
  gz: Buffer | undefined;
}

/** Tests per gzip member: a tagged flush compresses this many tests' records, whatever the total. */
const TESTS_PER_MEMBER = 16;

// Taken from the process, as collector.ts does (this module is loaded with it, at the first flush).
const { gzipSync } = process.getBuiltinModule('node:zlib');

export interface PerTestStatus {
  /** Tests this container keeps. */
  tests: number;
  /** Its bound (COVERAGE_MAX_TESTS). */
  limit: number;
  /** Invocations whose tests were over the bound (counted as untagged). */
  overflow: number;
}

/**
 * The init phase's counters as sparse records, from the copy taken when the first invocation started
 * (read before the collector's first snapshot refills those arrays in place).
 */
export function initRecords(init: Record<string, FileCounters>): Map<string, SparseCounters> {
  const out = new Map<string, SparseCounters>();
  const offsets: number[] = [];
  const counts: number[] = [];
  for (const key in init) {
    const { s, f, b } = init[key]!;
    offsets.length = 0;
    counts.length = 0;
    let o = 0;
    const take = (v: number) => { if (v > 0) { offsets.push(o); counts.push(v); } o++; };
    for (let i = 0; i < s.length; i++) take(s[i]!);
    for (let i = 0; i < f.length; i++) take(f[i]!);
    for (let i = 0; i < b.length; i++) { const arms = b[i]!; for (let j = 0; j < arms.length; j++) take(arms[j]!); }
    if (offsets.length > 0) out.set(key, encodeSparse(offsets, counts));
  }
  return out;
}

export class PerTestRecorder implements MovedCounters {
  private readonly tests = new Map<string, TestState>();
  /** The tests of the flush in progress (set by `begin`, cleared by `end`). */
  private current: TestState[] = [];
  private readonly init: Map<string, SparseCounters> | undefined;
  private readonly chunks: Chunk[] = [];
  /** The init records' JSON ('' when no carried file moved while loading), and the closing member. */
  private initJson: string | undefined;
  private closing: Buffer | undefined;
  overflow = 0;

  /** `init`: the counters when the first invocation started (undefined: not taken, e.g. coverage came later). */
  constructor(readonly limit: number, init: Record<string, FileCounters> | undefined) {
    this.init = init === undefined ? undefined : initRecords(init);
  }

  status(): PerTestStatus {
    return { tests: this.tests.size, limit: this.limit, overflow: this.overflow };
  }

  /**
   * The tests the invocation that just ended named; returns the sink for the snapshot's moves, or
   * undefined when there is nothing to attribute (untagged, or every name over the bound).
   */
  begin(names: readonly string[]): MovedCounters | undefined {
    this.current = [];
    for (const name of names) {
      let t = this.tests.get(name);
      if (t === undefined) {
        if (this.tests.size >= this.limit) { this.overflow++; continue; }
        let chunk = this.chunks.at(-1);
        if (chunk === undefined || chunk.tests.length === TESTS_PER_MEMBER) {
          chunk = { tests: [], gz: undefined };
          this.chunks.push(chunk);
        }
        t = { name, chunk, invocations: 0, files: new Map(), json: undefined };
        chunk.tests.push(t);
        this.tests.set(name, t);
        // The closing member closes `tests` once there is one.
        if (this.tests.size === 1) this.closing = undefined;
      }
      t.invocations++;
      t.json = undefined;
      t.chunk.gz = undefined;
      this.current.push(t);
    }
    return this.current.length > 0 ? this : undefined;
  }

  end(): void {
    this.current = [];
  }

  moved(key: string, offsets: ArrayLike<number>, deltas: ArrayLike<number>, n: number): void {
    for (const t of this.current) {
      const had = t.files.get(key);
      t.files.set(key, had === undefined ? pairsOf(offsets, deltas, n) : addMoves(had, offsets, deltas, n));
    }
  }

  /**
   * The shard's `tests` and `init` fields as gzip members that follow the member of the rest of the
   * shard (its JSON without the closing `}`), and close it; none when there is neither field. Gzip
   * members may be concatenated (RFC 1952), and whoever inflates the body reads one JSON text. Tests go
   * TESTS_PER_MEMBER to a member, each member kept until one of its tests moves again: a flush after an
   * untagged invocation compresses no per-test byte, one after a tagged invocation one member, however
   * many tests the container keeps. `carried`: the shard's files; only those are named, in their order
   * (the combiner's scan then finds each record's file where it expects it). `carriedChanged`: the set
   * of carried files is not the last one's.
   */
  shardMembers(carried: Readonly<Record<string, unknown>>, carriedChanged: boolean): Buffer[] {
    if (carriedChanged) {
      this.initJson = undefined;
      this.closing = undefined;
      for (const t of this.tests.values()) t.json = undefined;
      for (const c of this.chunks) c.gz = undefined;
    }
    if (this.init !== undefined && this.initJson === undefined) {
      const parts: string[] = [];
      for (const key in carried) {
        const rec = this.init.get(key);
        if (rec !== undefined) parts.push(`${JSON.stringify(key)}:${JSON.stringify(rec)}`);
      }
      this.initJson = parts.length > 0 ? `{${parts.join(',')}}` : '';
      this.closing = undefined;
    }
    const hasInit = this.initJson !== undefined && this.initJson !== '';
    if (this.tests.size === 0 && !hasInit) return [];
    const members: Buffer[] = [];
    this.chunks.forEach((chunk, k) => {
      if (chunk.gz === undefined) {
        const parts = chunk.tests.map((t) => `${JSON.stringify(t.name)}:${(t.json ??= testJson(t, carried))}`);
        chunk.gz = gzipSync(`${k === 0 ? ',"tests":{' : ','}${parts.join(',')}`, { level: 3 });
      }
      members.push(chunk.gz);
    });
    this.closing ??= gzipSync(`${this.tests.size > 0 ? '}' : ''}${hasInit ? `,"init":${this.initJson}` : ''}}`, { level: 3 });
    members.push(this.closing);
    return members;
  }
}

function pairsOf(offsets: ArrayLike<number>, deltas: ArrayLike<number>, n: number): number[] {
  const out: number[] = new Array(2 * n);
  for (let i = 0; i < n; i++) { out[2 * i] = offsets[i]!; out[2 * i + 1] = deltas[i]!; }
  return out;
}

/**
 * Adds moves (offsets ascending) to a file's pairs: in place when every offset is there already (a
 * test that runs again mostly moves what it moved before), else merged into a new array.
 */
function addMoves(pairs: number[], offsets: ArrayLike<number>, deltas: ArrayLike<number>, n: number): number[] {
  let i = 0;
  let j = 0;
  while (j < n && i < pairs.length) {
    if (pairs[i] === offsets[j]) { pairs[i + 1]! += deltas[j]!; j++; i += 2; }
    else if (pairs[i]! < offsets[j]!) i += 2;
    else break;
  }
  if (j === n) return pairs;
  // Undo nothing: the moves before j are in; merge the rest.
  const out: number[] = [];
  i = 0;
  let k = j;
  while (i < pairs.length || k < n) {
    if (k >= n || (i < pairs.length && pairs[i]! < offsets[k]!)) { out.push(pairs[i]!, pairs[i + 1]!); i += 2; }
    else if (i < pairs.length && pairs[i] === offsets[k]) { out.push(pairs[i]!, pairs[i + 1]! + deltas[k]!); i += 2; k++; }
    else { out.push(offsets[k]!, deltas[k]!); k++; }
  }
  return out;
}

function testJson(t: TestState, carried: Readonly<Record<string, unknown>>): string {
  const parts: string[] = [];
  for (const key in carried) {
    const pairs = t.files.get(key);
    if (pairs === undefined || pairs.length === 0) continue;
    parts.push(`${JSON.stringify(key)}:${JSON.stringify(encodeSparsePairs(pairs))}`);
  }
  return `{"invocations":${t.invocations},"files":{${parts.join(',')}}}`;
}
