/**
 * The per-test half of a container's shard (contract/tests.ts): for each named test, the counters its
 * invocations moved, and the counters moved while the module loaded (init). A Lambda execution
 * environment runs one invocation at a time, so the counters that moved between two snapshots are
 * exactly that invocation's: the collector hands each flush's moves here (takeSnapshot's `moved`), and
 * they are added to the tests that invocation named. Records are cumulative, like the shard's totals,
 * and go out with every shard; each test's JSON is kept until that test moves again, so a flush after
 * an untagged invocation serializes nothing new.
 */
import { encodeSparse, type FileCounters, type SparseCounters } from '../contract/format.js';
import type { MovedCounters } from './snapshot.js';

interface TestState {
  invocations: number;
  /** Per file: counter offset (packed order) → count moved. */
  files: Map<string, Map<number, number>>;
  /** This test's `{"invocations":…,"files":{…}}`, until it moves again. */
  json: string | undefined;
}

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
  private initJson: string | undefined;
  private testsJson: string | undefined;
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
        t = { invocations: 0, files: new Map(), json: undefined };
        this.tests.set(name, t);
      }
      t.invocations++;
      t.json = undefined;
      this.current.push(t);
    }
    if (this.current.length > 0) this.testsJson = undefined;
    return this.current.length > 0 ? this : undefined;
  }

  end(): void {
    this.current = [];
  }

  moved(key: string, offsets: ArrayLike<number>, deltas: ArrayLike<number>, n: number): void {
    for (const t of this.current) {
      let file = t.files.get(key);
      if (file === undefined) { file = new Map(); t.files.set(key, file); }
      for (let i = 0; i < n; i++) {
        const o = offsets[i]!;
        file.set(o, (file.get(o) ?? 0) + deltas[i]!);
      }
    }
  }

  /**
   * `,"tests":{…},"init":{…}` to append to the shard's JSON (empty when there is neither), naming
   * only files the shard carries. `carriedChanged`: the set of carried files is not the last one's.
   */
  shardFields(carried: (key: string) => boolean, carriedChanged: boolean): string {
    if (carriedChanged) {
      this.initJson = undefined;
      this.testsJson = undefined;
      for (const t of this.tests.values()) t.json = undefined;
    }
    if (this.init !== undefined && this.initJson === undefined) {
      const parts: string[] = [];
      for (const [key, rec] of this.init) if (carried(key)) parts.push(`${JSON.stringify(key)}:${JSON.stringify(rec)}`);
      this.initJson = `{${parts.join(',')}}`;
    }
    if (this.testsJson === undefined && this.tests.size > 0) {
      const parts: string[] = [];
      for (const [name, t] of this.tests) {
        t.json ??= testJson(t, carried);
        parts.push(`${JSON.stringify(name)}:${t.json}`);
      }
      this.testsJson = `{${parts.join(',')}}`;
    }
    let out = '';
    if (this.testsJson !== undefined) out += `,"tests":${this.testsJson}`;
    if (this.initJson !== undefined && this.initJson !== '{}') out += `,"init":${this.initJson}`;
    return out;
  }
}

function testJson(t: TestState, carried: (key: string) => boolean): string {
  const parts: string[] = [];
  for (const [key, counters] of t.files) {
    if (!carried(key) || counters.size === 0) continue;
    const offsets = [...counters.keys()].sort((a, b) => a - b);
    const counts = offsets.map((o) => counters.get(o)!);
    parts.push(`${JSON.stringify(key)}:${JSON.stringify(encodeSparse(offsets, counts))}`);
  }
  return `{"invocations":${t.invocations},"files":{${parts.join(',')}}}`;
}
