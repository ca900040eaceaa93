/**
 * Bytes → a validated input, the CPU-heavy half of reading a shard (gunzip, JSON.parse, checking every
 * counter). Pure; runs in worker threads (decode-worker.ts) or, without them, on the main thread.
 * A shard's counters come back packed in one Float64Array, which moves between threads without copying.
 */
import {
  DEFAULT_LIMITS, MANIFEST_FORMAT, MAPS_FORMAT, SHARD_FORMAT, gunzipMaybe, parseJsonText, parseShard, readSparse,
  type FileCounters, type InputLimits, type Shard, type SparseCounters,
} from './format.js';
import { scanShard, type PackedFile, type PackedShard, type PackedTests } from './scan.js';

export type { PackedFile, PackedShard, PackedTests };

export type InputKind = 'shard' | 'maps' | 'manifest' | 'summary' | 'istanbul';

export function classify(doc: unknown): InputKind {
  if (typeof doc === 'object' && doc !== null && !Array.isArray(doc)) {
    const format = (doc as { format?: unknown }).format;
    if (format === SHARD_FORMAT || (typeof format === 'string' && format.startsWith('lambda-coverage/shard'))) return 'shard';
    if (format === MAPS_FORMAT) return 'maps';
    if (format === MANIFEST_FORMAT) return 'manifest';
    const total = (doc as { total?: { lines?: unknown } }).total;
    if (typeof total === 'object' && total !== null && 'lines' in total) return 'summary';
  }
  return 'istanbul';
}

export type Decoded =
  | ({ kind: 'shard' } & PackedShard)
  | { kind: 'maps' | 'manifest' | 'summary' }
  | { kind: 'istanbul'; doc: unknown }
  | { kind: 'invalid'; reason: string };

/**
 * Per-test records that came out of decodeInput (on this thread, or a worker's, see decode-pool.ts),
 * which checked every name, count and offset against the shard's files and the limits: the merger
 * does not check them a second time. Records made any other way (packShard of a shard the caller
 * built, a PackedShard from the library API) are checked by the merger before anything is added.
 */
const checkedTests = new WeakSet<PackedTests>();

/** Marks records as decodeInput's (a decode pool's copy of what a worker's decodeInput returned). */
export function markDecoded(pt: PackedTests): PackedTests {
  checkedTests.add(pt);
  return pt;
}

/** Whether these records came out of decodeInput, unchanged since (see checkedTests). */
export function isDecoded(pt: PackedTests): boolean {
  return checkedTests.has(pt);
}

/** `limits` bound what one input may cost (see InputLimits): over one, it comes back invalid. */
export function decodeInput(bytes: Uint8Array, limits: InputLimits = DEFAULT_LIMITS): Decoded {
  const d = decode(bytes, limits);
  if (d.kind === 'shard' && d.perTest !== undefined) markDecoded(d.perTest);
  return d;
}

function decode(bytes: Uint8Array, limits: InputLimits): Decoded {
  let doc: unknown;
  try {
    const raw = gunzipMaybe(bytes, 'content', limits);
    // A shard as the runtime writes it is read in one pass; anything else by JSON.parse below.
    const fast = scanShard(raw, limits);
    if (fast !== undefined && 'refused' in fast) return { kind: 'invalid', reason: fast.refused };
    if (fast !== undefined) return { kind: 'shard', ...fast };
    doc = parseJsonText(raw, 'content');
  } catch (e) {
    return { kind: 'invalid', reason: (e as Error).message.replace(/^content: /, '') };
  }
  const kind = classify(doc);
  if (kind === 'istanbul') return { kind, doc };
  if (kind !== 'shard') return { kind };
  let shard: Shard;
  try {
    shard = parseShard(doc, 'shard', limits);
  } catch (e) {
    return { kind: 'invalid', reason: (e as Error).message.replace(/^shard:? /, '') };
  }
  return { kind: 'shard', ...packShard(shard) };
}

/** Whether two files lists describe the same counters layout (paths, hashes, times, lengths). */
export function sameLayout(a: readonly PackedFile[], b: readonly PackedFile[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.path !== y.path || x.hash !== y.hash || x.s !== y.s || x.f !== y.f || x.updatedAt !== y.updatedAt || x.startedAt !== y.startedAt || x.arms.length !== y.arms.length) return false;
    for (let j = 0; j < x.arms.length; j++) if (x.arms[j] !== y.arms[j]) return false;
  }
  return true;
}

export function packShard(shard: Shard): PackedShard {
  const { files: byPath, tests, init, ...meta } = shard;
  const paths = Object.keys(byPath);
  const list: FileCounters[] = new Array(paths.length);
  const files: PackedFile[] = new Array(paths.length);
  let total = 0;
  for (let i = 0; i < paths.length; i++) {
    const c = byPath[paths[i]!]!;
    list[i] = c;
    const arms: number[] = new Array(c.b.length);
    for (let j = 0; j < c.b.length; j++) { arms[j] = c.b[j]!.length; total += arms[j]!; }
    total += c.s.length + c.f.length;
    const { startedAt, updatedAt } = c as FileCounters & { startedAt?: unknown; updatedAt?: unknown };
    const file: PackedFile = { path: paths[i]!, hash: c.hash ?? '', s: c.s.length, f: c.f.length, arms };
    if (typeof startedAt === 'string') file.startedAt = startedAt;
    if (typeof updatedAt === 'string') file.updatedAt = updatedAt;
    files[i] = file;
  }
  const counters = new Float64Array(total);
  let o = 0;
  for (let i = 0; i < list.length; i++) {
    const c = list[i]!;
    const { s, f, b } = c;
    for (let j = 0; j < s.length; j++) counters[o++] = s[j]!;
    for (let j = 0; j < f.length; j++) counters[o++] = f[j]!;
    for (let j = 0; j < b.length; j++) {
      const arm = b[j]!;
      for (let k = 0; k < arm.length; k++) counters[o++] = arm[k]!;
    }
  }
  const packed: PackedShard = { shard: meta, files, counters };
  if (tests !== undefined || init !== undefined) packed.perTest = packTests(shard, files);
  return packed;
}

/** The per-test records of a shard that parseShard accepted, with absolute offsets. */
function packTests(shard: Shard, files: readonly PackedFile[]): PackedTests {
  const index = new Map(files.map((f, i) => [f.path, i]));
  const spans: number[] = [];
  const pairs: number[] = [];
  const add = (test: number, recs: Record<string, SparseCounters>) => {
    for (const path of Object.keys(recs)) {
      const file = index.get(path)!;
      const f = files[file]!;
      let n = f.s + f.f;
      for (const a of f.arms) n += a;
      const start = pairs.length / 2;
      readSparse(recs[path], n, (o, c) => { pairs.push(o, c); });
      spans.push(test, file, start, pairs.length / 2);
    }
  };
  const names = Object.keys(shard.tests ?? {});
  names.forEach((name, t) => add(t, shard.tests![name]!.files));
  if (shard.init !== undefined) add(-1, shard.init);
  return {
    tests: names.map((name) => {
      const { invocations, functions } = shard.tests![name]!;
      return functions === undefined ? { name, invocations } : { name, invocations, functions: [...functions] };
    }),
    spans: Int32Array.from(spans), pairs: Float64Array.from(pairs),
  };
}
