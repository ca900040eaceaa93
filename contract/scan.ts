/**
 * The fast path of reading a shard: the bytes the runtime writes (JSON of a fixed shape: string and
 * integer fields, then `files` of `{ "s": [..], "f": [..], "b": [[..], ..] }`) are scanned once,
 * straight into the packed form (one Float64Array of counters in file order), without building the
 * millions of small arrays JSON.parse would and without a second pass to check and pack them.
 *
 * A version 3 shard's per-test records (`tests`, `init`: see tests.ts) are read in the same pass, as
 * absolute (offset, count) pairs, and checked against the files once the whole shard is read.
 *
 * It takes only what it can read exactly as `packShard(parseShard(JSON.parse(text)))` would, and
 * returns undefined for anything else (escapes in a string, a number that is not a plain non-negative
 * integer of at most 15 digits, unknown or repeated keys, counters in another order, a file path that
 * JSON.parse would reorder, a shard that parseShard would refuse, anything over a bound of `limits`):
 * the general path then reads it, with its own error messages. Pure.
 */
import {
  DEFAULT_LIMITS, SHARD_FORMAT, SHARD_VERSION, SHARD_VERSIONS_READ, boundMessage, shardNeedsHashes, isHash, isSafeName, projectPathProblem, quotePath,
  testNameProblem, type InputLimits, type Shard,
} from './format.js';

/** One file of a packed shard: its path, hash and counter lengths (the counters are in the buffer). */
export interface PackedFile {
  path: string;
  /** '' when the shard leaves it to its maps document (version 2 shards with a mapId). */
  hash: string;
  /** Per-file times of a combined shard (--as-shard): each file keeps its own. */
  startedAt?: string;
  updatedAt?: string;
  s: number;
  f: number;
  /** Arm count of each branch. */
  arms: number[];
}

/** A shard with its counters in one buffer, in file order: each file's s, then f, then its branches' arms. */
export interface PackedShard {
  shard: Omit<Shard, 'files' | 'tests' | 'init'>;
  files: PackedFile[];
  counters: Float64Array;
  /** A version 3 shard's per-test records, when it has any. */
  perTest?: PackedTests;
}

/**
 * The per-test records of a packed shard (contract/tests.ts), with offsets made absolute: each span
 * is one test's (or the init phase's) entries for one file.
 */
export interface PackedTests {
  /** The named tests, in the shard's order (`functions`: a combined shard's, the functions each ran in). */
  tests: { name: string; invocations: number; functions?: string[] }[];
  /** Quads: test index (-1 for the init phase), file index in `files`, start and end (pair index) in `pairs`. */
  spans: Int32Array;
  /** Pairs: offset in the file's packed counters, count. */
  pairs: Float64Array;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACK = 0x5b;
const RBRACK = 0x5d;

const META_STRINGS = new Set(['format', 'functionName', 'functionVersion', 'containerId', 'startedAt', 'updatedAt']);
/** A key V8 would list before the others (an array index): the general path keeps JSON.parse's order. */
const INDEX_LIKE = /^(?:0|[1-9]\d{0,9})$/;

/** The paths of the last files object read (see readFiles), checked against this path bound. */
let lastPaths: string[] = [];
let lastPathBound = 0;
/** Scratch space for the counters, kept between scans (a shard's own array is copied out of it). */
let scratch: Float64Array = new Float64Array(1 << 14);

/** Where a scan is; the counters grow in `out`. Hot loops copy these into locals. */
interface Scan {
  b: Buffer; n: number; i: number; out: Float64Array; len: number; limits: InputLimits;
  /** Where the current file's counters start in `out`: a file over maxCounters stops the scan there. */
  fileStart: number;
  /** Each file's path as it stands in `b` (start and length of the bytes between its quotes), in file order. */
  pathAt: number[];
  /** The files, once the whole `files` object is read: per-test records that come after it are matched as they are read. */
  files?: PackedFile[];
  /** `b` read four bytes at a time (see sameBytes). */
  dv: DataView;
  /** Set when the input is over a bound: that verdict is final, whatever the rest holds. */
  refused?: string;
}

function grow(st: Scan): void {
  const bigger = new Float64Array(st.out.length * 2);
  bigger.set(st.out);
  st.out = bigger;
}

function skipWs(st: Scan): void {
  const { b, n } = st;
  let i = st.i;
  while (i < n) {
    const c = b[i];
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
    else break;
  }
  st.i = i;
}

/** A string without escapes, or undefined. */
function readString(st: Scan): string | undefined {
  const { b, n } = st;
  let i = st.i;
  if (b[i] !== QUOTE) return undefined;
  const start = ++i;
  let ascii = true;
  for (;;) {
    if (i >= n) return undefined;
    const c = b[i]!;
    if (c === QUOTE) break;
    if (c === BACKSLASH || c < 0x20) return undefined;
    if (c >= 0x80) ascii = false;
    i++;
  }
  st.i = i + 1;
  return b.toString(ascii ? 'latin1' : 'utf8', start, i);
}

/** A plain non-negative integer literal of at most 15 digits (so a safe integer), or -1. */
function readInt(st: Scan): number {
  const { b, n } = st;
  const start = st.i;
  let end = start;
  while (end < n && b[end]! >= 0x30 && b[end]! <= 0x39) end++;
  st.i = end;
  const d = end - start;
  const next = b[end];
  if (d === 0 || d > 15 || (d > 1 && b[start] === 0x30) || next === 0x2e || next === 0x65 || next === 0x45) return -1;
  return Number(b.toString('latin1', start, end));
}

/**
 * `[int, …]` appended to the counters: how many, or -1. The hot loop of a scan: everything it touches
 * is a local until it returns.
 */
function readInts(st: Scan): number {
  const { b, n } = st;
  let i = st.i;
  if (b[i] !== LBRACK) return -1;
  i++;
  while (i < n && (b[i] === 0x20 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x09)) i++;
  if (b[i] === RBRACK) { st.i = i + 1; return 0; }
  let out = st.out;
  let len = st.len;
  let count = 0;
  for (;;) {
    const start = i;
    let v = 0;
    while (i < n) {
      const c = b[i]!;
      if (c < 0x30 || c > 0x39) break;
      v = v * 10 + (c - 0x30);
      i++;
    }
    const d = i - start;
    if (d === 0 || d > 15 || (d > 1 && b[start] === 0x30)) return -1;
    if (len === out.length) {
      // Checked only when the buffer grows: a file over its bound stops before it costs memory.
      if (len - st.fileStart > st.limits.maxCounters) { st.refused = 'maxCounters'; return -1; }
      st.out = out; grow(st); out = st.out;
    }
    out[len++] = v;
    count++;
    while (i < n && (b[i] === 0x20 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x09)) i++;
    const c = b[i++];
    if (c === RBRACK) break;
    if (c !== COMMA) return -1;
    while (i < n && (b[i] === 0x20 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x09)) i++;
  }
  st.i = i;
  st.out = out;
  st.len = len;
  return count;
}

/** `[[int, …], …]` appended: the arm count of each branch, or undefined. */
function readBranches(st: Scan): number[] | undefined {
  const { b } = st;
  if (b[st.i] !== LBRACK) return undefined;
  st.i++;
  skipWs(st);
  const arms: number[] = [];
  if (b[st.i] === RBRACK) { st.i++; return arms; }
  for (;;) {
    const k = readInts(st);
    if (k < 0) return undefined;
    arms.push(k);
    skipWs(st);
    const c = b[st.i++];
    if (c === RBRACK) return arms;
    if (c !== COMMA) return undefined;
    skipWs(st);
  }
}

/** `{ key: value, … }`: calls `field` after each key's colon; false when anything is off. */
function readObject(st: Scan, field: (key: string) => boolean): boolean {
  const { b } = st;
  if (b[st.i] !== LBRACE) return false;
  st.i++;
  skipWs(st);
  if (b[st.i] === RBRACE) { st.i++; return true; }
  for (;;) {
    const key = readString(st);
    if (key === undefined) return false;
    skipWs(st);
    if (b[st.i++] !== COLON) return false;
    skipWs(st);
    if (!field(key)) return false;
    skipWs(st);
    const c = b[st.i++];
    if (c === RBRACE) return true;
    if (c !== COMMA) return false;
    skipWs(st);
  }
}

/** One file's counters object, packed; undefined when it is not exactly `{ [hash,] s, f, b [, times] }`. */
function readFile(st: Scan, path: string): PackedFile | undefined {
  const { b } = st;
  if (b[st.i] !== LBRACE) return undefined;
  st.fileStart = st.len;
  st.i++;
  skipWs(st);
  let s = -1;
  let f = -1;
  let arms: number[] | undefined;
  let hash: string | undefined;
  let startedAt: string | undefined;
  let updatedAt: string | undefined;
  if (b[st.i] !== RBRACE) {
    for (;;) {
      const i = st.i;
      if (b[i] !== QUOTE) return undefined;
      // Counters go into the buffer as they come, so they must come as packShard orders them: s, f, b.
      if (b[i + 2] === QUOTE && b[i + 1] === 0x73 /* s */) {
        if (s >= 0) return undefined;
        st.i = i + 3;
        if (!colon(st)) return undefined;
        s = readInts(st);
        if (s < 0) return undefined;
      } else if (b[i + 2] === QUOTE && b[i + 1] === 0x66 /* f */) {
        if (s < 0 || f >= 0) return undefined;
        st.i = i + 3;
        if (!colon(st)) return undefined;
        f = readInts(st);
        if (f < 0) return undefined;
      } else if (b[i + 2] === QUOTE && b[i + 1] === 0x62 /* b */) {
        if (f < 0 || arms !== undefined) return undefined;
        st.i = i + 3;
        if (!colon(st)) return undefined;
        arms = readBranches(st);
        if (arms === undefined) return undefined;
      } else {
        const key = readString(st);
        if (key === undefined || !colon(st)) return undefined;
        const v = readString(st);
        if (v === undefined) return undefined;
        if (key === 'hash' && hash === undefined) hash = v;
        else if (key === 'startedAt' && startedAt === undefined) startedAt = v;
        else if (key === 'updatedAt' && updatedAt === undefined) updatedAt = v;
        else return undefined;
      }
      skipWs(st);
      const c = b[st.i++];
      if (c === RBRACE) break;
      if (c !== COMMA) return undefined;
      skipWs(st);
    }
  } else {
    st.i++;
  }
  if (arms === undefined || hash === '' || (hash !== undefined && !isHash(hash))) return undefined;
  let n = s + f;
  for (let k = 0; k < arms.length; k++) n += arms[k]!;
  if (n > st.limits.maxCounters) { st.refused = 'maxCounters'; return undefined; }
  const file: PackedFile = { path, hash: hash ?? '', s, f, arms };
  if (startedAt !== undefined) file.startedAt = startedAt;
  if (updatedAt !== undefined) file.updatedAt = updatedAt;
  return file;
}

/** `:` with the blanks around it. */
function colon(st: Scan): boolean {
  skipWs(st);
  if (st.b[st.i] !== COLON) return false;
  st.i++;
  skipWs(st);
  return true;
}

/** The `files` object into `files`; whether every file named its hash; undefined when anything is off. */
function readFiles(st: Scan, files: PackedFile[]): { hashes: boolean } | undefined {
  const { b } = st;
  if (b[st.i] !== LBRACE) return undefined;
  st.i++;
  skipWs(st);
  let hashes = true;
  if (b[st.i] === RBRACE) { st.i++; return { hashes }; }
  // Shards of one build list the same paths in the same order: while this one follows the last list
  // that was checked (no repeats, none index-like), its paths need no checking and share its strings.
  const known = lastPathBound === st.limits.maxPathLength ? lastPaths : [];
  let same = true;
  let seen: Set<string> | undefined;
  for (;;) {
    const at = st.i + 1;
    let path = readString(st);
    if (path === undefined) return undefined;
    st.pathAt.push(at, st.i - 1 - at);
    if (!colon(st)) return undefined;
    const k = files.length;
    if (same && k < known.length && known[k] === path) {
      path = known[k]!;
    } else {
      if (same) {
        same = false;
        seen = new Set(known.slice(0, k));
      }
      const c0 = path.charCodeAt(0);
      if ((c0 >= 0x30 && c0 <= 0x39 && INDEX_LIKE.test(path)) || seen!.has(path)) return undefined;
      if (projectPathProblem(path, st.limits.maxPathLength) !== undefined) return undefined;
      seen!.add(path);
    }
    const file = readFile(st, path);
    if (file === undefined) {
      if (st.refused === 'maxCounters') st.refused = boundMessage(`file ${quotePath(path)}`, 'maxCounters', st.limits, 'more counters');
      return undefined;
    }
    if (file.hash === '') hashes = false;
    files.push(file);
    if (files.length > st.limits.maxFiles) {
      st.refused = boundMessage('', 'maxFiles', st.limits, 'more files');
      return undefined;
    }
    skipWs(st);
    const c = b[st.i++];
    if (c === RBRACE) {
      if (!same || files.length !== known.length) {
        lastPaths = files.map((x) => x.path);
        lastPathBound = st.limits.maxPathLength;
      }
      return { hashes };
    }
    if (c !== COMMA) return undefined;
    skipWs(st);
  }
}

/**
 * The per-test records read so far (the tests' or init's), in buffers that grow and are kept between
 * scans: their pairs (offset, count, …) in `a`, and per record seven numbers in `recs` (byte positions
 * may pass 2^31 in an input allowed that large, hence not an Int32Array): its test (-1:
 * init), its file (-1 while not known: records read before the files), where its path stands in the
 * bytes (start, end), its start and end (pair index) and its last offset.
 */
interface Records { a: Float64Array; n: number; recs: Float64Array; nRecs: number }
const RECORD = 7;
const testRecords: Records = { a: new Float64Array(1 << 12), n: 0, recs: new Float64Array(1 << 12), nRecs: 0 };
const initRecords: Records = { a: new Float64Array(1 << 10), n: 0, recs: new Float64Array(1 << 10), nRecs: 0 };

function pushRecord(into: Records, test: number, file: number, at: number, end: number, start: number, stop: number, last: number): void {
  if (into.nRecs + RECORD > into.recs.length) {
    const bigger = new Float64Array(into.recs.length * 2);
    bigger.set(into.recs);
    into.recs = bigger;
  }
  const r = into.recs;
  let k = into.nRecs;
  r[k++] = test; r[k++] = file; r[k++] = at; r[k++] = end; r[k++] = start; r[k++] = stop; r[k++] = last;
  into.nRecs = k;
}

/** Empties the records for a scan, letting go of buffers one huge input grew (as `scratch`). */
function resetRecords(r: Records, size: number): void {
  r.n = 0;
  r.nRecs = 0;
  if (r.a.length > 1 << 20) r.a = new Float64Array(size);
  if (r.recs.length > 1 << 20) r.recs = new Float64Array(size);
}

/**
 * `[gap, count, …]` appended to `buf` as absolute (offset, count) pairs; the last offset (-1 for an
 * empty record), or -2 when it is not plain integers in pairs with positive counts. Whether the offsets
 * fit the file is checked once the files are known (see perTestOf).
 */
function readPairs(st: Scan, buf: Records): number {
  const { b, n } = st;
  let i = st.i;
  if (b[i] !== LBRACK) return -2;
  i++;
  while (i < n && (b[i] === 0x20 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x09)) i++;
  if (b[i] === RBRACK) { st.i = i + 1; return -1; }
  let o = -1;
  let k = 0;
  for (;;) {
    const start = i;
    let v = 0;
    while (i < n) {
      const c = b[i]!;
      if (c < 0x30 || c > 0x39) break;
      v = v * 10 + (c - 0x30);
      i++;
    }
    const d = i - start;
    if (d === 0 || d > 15 || (d > 1 && b[start] === 0x30)) return -2;
    if (k % 2 === 0) {
      o += v + 1;
      v = o;
    } else if (v === 0) {
      return -2;
    }
    if (buf.n === buf.a.length) {
      const bigger = new Float64Array(buf.a.length * 2);
      bigger.set(buf.a);
      buf.a = bigger;
    }
    buf.a[buf.n++] = v;
    k++;
    while (i < n && (b[i] === 0x20 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x09)) i++;
    const c = b[i++];
    if (c === RBRACK) break;
    if (c !== COMMA) return -2;
    while (i < n && (b[i] === 0x20 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x09)) i++;
  }
  st.i = i;
  return k % 2 === 0 ? o : -2;
}

/**
 * `{ path: [gap, count, …], … }` of one test (or init) into `buf`; false when anything is off. A
 * path named twice in one record, or one the shard's files lack, is caught in perTestOf (JSON.parse
 * would keep the last). An index-like path (which JSON.parse would list first) is one of the latter:
 * the files have none.
 *
 * Records after the files (as every writer puts them) are matched to a file as they are read, by
 * their bytes: a test's records mostly follow the files' order (the runtime writes them in the order
 * the test first moved each file, and a snapshot walks the files in order), so the record's file is
 * looked for just past the previous one's, and its bytes are compared with that file's path instead
 * of being read again to make a string to look up (only a record found nowhere near is looked up).
 */
function readRecords(st: Scan, test: number, buf: Records): boolean {
  const { b, pathAt } = st;
  if (b[st.i] !== LBRACE) return false;
  st.i++;
  skipWs(st);
  if (b[st.i] === RBRACE) { st.i++; return true; }
  let next = 0;
  for (;;) {
    const at = st.i + 1;
    let file = st.files === undefined ? -1 : fileNear(st, at, next);
    let end: number;
    if (file >= 0) {
      // The same bytes as the file's path, which was checked (no escape), and then its closing quote.
      end = at + pathAt[2 * file + 1]!;
      st.i = end + 1;
    } else {
      end = skipString(st);
      if (end < 0) return false;
      if (st.files !== undefined) {
        file = fileIndex(st.files).get(b.toString('utf8', at, end)) ?? -1;
        if (file < 0) return false; // a file the shard lacks
      }
    }
    if (file >= 0) next = file + 1;
    if (!colon(st)) return false;
    const start = buf.n / 2;
    const last = readPairs(st, buf);
    if (last === -2) return false;
    pushRecord(buf, test, file, at, end, start, buf.n / 2, last);
    skipWs(st);
    const c = b[st.i++];
    if (c === RBRACE) return true;
    if (c !== COMMA) return false;
    skipWs(st);
  }
}

/** How many files past the previous record's a record's path is looked for by its bytes. */
const LOOKAHEAD = 64;

/**
 * The file among `next…next + LOOKAHEAD` whose path is the key whose bytes start at `at` (its
 * closing quote right after the path's bytes), or -1. A path has no quote byte, so a match ends there.
 */
function fileNear(st: Scan, at: number, next: number): number {
  const { b, pathAt, dv } = st;
  const stop = Math.min(pathAt.length / 2, next + LOOKAHEAD);
  for (let k = next; k < stop; k++) {
    const length = pathAt[2 * k + 1]!;
    if (b[at + length] === QUOTE && sameBytes(dv, at, pathAt[2 * k]!, length)) return k;
  }
  return -1;
}

/**
 * Whether the `length` bytes at `s` and at `s2` are the same: four at a time (a DataView's reads
 * compile to plain loads, about twice as fast as byte by byte here), from the end (paths share their
 * start).
 */
function sameBytes(dv: DataView, s: number, s2: number, length: number): boolean {
  let i = length;
  for (; i >= 4; i -= 4) if (dv.getUint32(s + i - 4) !== dv.getUint32(s2 + i - 4)) return false;
  for (; i > 0; i--) if (dv.getUint8(s + i - 1) !== dv.getUint8(s2 + i - 1)) return false;
  return true;
}

/** readString without making the string: where its bytes end (its closing quote), or -1. */
function skipString(st: Scan): number {
  const { b, n } = st;
  let i = st.i;
  if (b[i] !== QUOTE) return -1;
  i++;
  for (;;) {
    if (i >= n) return -1;
    const c = b[i]!;
    if (c === QUOTE) break;
    if (c === BACKSLASH || c < 0x20) return -1;
    i++;
  }
  st.i = i + 1;
  return i;
}

/** The `tests` object: names and invocations into `tests`, records into `buf`; false when anything is off. */
function readTests(st: Scan, tests: PackedTests['tests'], buf: Records): boolean {
  const names = new Set<string>();
  return readObject(st, (name) => {
    if (names.has(name) || INDEX_LIKE.test(name) || testNameProblem(name) !== undefined) return false;
    names.add(name);
    const t = tests.length;
    let invocations = -1;
    let files = false;
    const ok = readObject(st, (key) => {
      if (key === 'invocations' && invocations < 0) {
        invocations = readInt(st);
        return invocations > 0;
      }
      if (key === 'files' && !files) {
        files = true;
        return readRecords(st, t, buf);
      }
      return false;
    });
    if (!ok || invocations < 0 || !files) return false;
    tests.push({ name, invocations });
    // Over --max-tests: the general path refuses it, naming the bound.
    return tests.length <= st.limits.maxTests;
  });
}

/** Path → index of a files list, kept for the list (shards of one build share theirs: see readFiles). */
let lastIndex: { paths: string[]; index: Map<string, number> } | undefined;
function fileIndex(files: readonly PackedFile[]): Map<string, number> {
  if (lastIndex !== undefined && lastIndex.paths.length === files.length && files.every((f, i) => f.path === lastIndex!.paths[i])) return lastIndex.index;
  const index = new Map<string, number>();
  for (let i = 0; i < files.length; i++) index.set(files[i]!.path, i);
  lastIndex = { paths: files.map((f) => f.path), index };
  return index;
}

/**
 * The per-test records read, against the shard's files: the records read before the files are
 * matched to theirs now (by path), each record's last offset is checked against its file's counters,
 * and the spans laid out as packShard lays them (every test's records in order, then init's).
 * Undefined when a record names a file the shard lacks, a file twice, or a counter past its end (the
 * general path says which).
 */
function perTestOf(st: Scan, files: readonly PackedFile[], tests: PackedTests['tests'], testRecs: Records, initRecs: Records): PackedTests | undefined {
  const lengths = new Float64Array(files.length);
  for (let i = 0; i < files.length; i++) lengths[i] = counterCount(files[i]!);
  const spans = new Int32Array((testRecs.nRecs + initRecs.nRecs) / RECORD * 4);
  let w = 0;
  // Which record last named each file (test + 2, init 1): a file named twice in one record is caught.
  const stamp = new Int32Array(files.length);
  const shift = testRecs.n / 2;
  for (const list of [testRecs, initRecs]) {
    const base = list === initRecs ? shift : 0;
    const r = list.recs;
    for (let k = 0; k < list.nRecs; k += RECORD) {
      const test = r[k]!;
      let file = r[k + 1]!;
      if (file < 0) file = fileIndex(files).get(st.b.toString('utf8', r[k + 2]!, r[k + 3]!)) ?? -1;
      if (file < 0 || stamp[file] === test + 2) return undefined;
      stamp[file] = test + 2;
      if (r[k + 6]! >= lengths[file]!) return undefined;
      spans[w++] = test;
      spans[w++] = file;
      spans[w++] = r[k + 4]! + base;
      spans[w++] = r[k + 5]! + base;
    }
  }
  const pairs = new Float64Array(testRecs.n + initRecs.n);
  pairs.set(testRecs.a.subarray(0, testRecs.n));
  pairs.set(initRecs.a.subarray(0, initRecs.n), testRecs.n);
  return { tests, spans, pairs };
}

function counterCount(f: PackedFile): number {
  let n = f.s + f.f;
  for (let j = 0; j < f.arms.length; j++) n += f.arms[j]!;
  return n;
}

/** An input the scan found over a bound: refused with this reason, without the general path's parse. */
export interface ScanRefusal { refused: string }

export function scanShard(bytes: Uint8Array, limits: InputLimits = DEFAULT_LIMITS): PackedShard | ScanRefusal | undefined {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const st: Scan = { b, n: b.length, i: 0, out: scratch, len: 0, limits, fileStart: 0, pathAt: [], dv: new DataView(b.buffer, b.byteOffset, b.byteLength) };
  const files: PackedFile[] = [];
  let hashes = true;
  const meta: Record<string, unknown> = {};
  let gotFiles = false;
  // Per-test records (version 3): read as they come, checked against the files once those are known.
  let tests: PackedTests['tests'] | undefined;
  let init = false;
  resetRecords(testRecords, 1 << 12);
  resetRecords(initRecords, 1 << 10);
  skipWs(st);
  const ok = readObject(st, (key) => {
    if (key in meta || (key === 'files' && gotFiles)) return false;
    if (key === 'tests') {
      if (tests !== undefined) return false;
      tests = [];
      return readTests(st, tests, testRecords);
    }
    if (key === 'init') {
      if (init) return false;
      init = true;
      return readRecords(st, -1, initRecords);
    }
    if (key === 'files') {
      gotFiles = true;
      const r = readFiles(st, files);
      if (r === undefined) return false;
      hashes = r.hashes;
      st.files = files;
      return true;
    }
    if (META_STRINGS.has(key)) {
      const v = readString(st);
      meta[key] = v;
      return v !== undefined;
    }
    if (key === 'version' || key === 'invocations') {
      const v = readInt(st);
      meta[key] = v;
      return v >= 0;
    }
    if (key === 'mapId') {
      const i = st.i;
      if (b[i] === 0x6e && b[i + 1] === 0x75 && b[i + 2] === 0x6c && b[i + 3] === 0x6c) {
        st.i += 4;
        meta.mapId = null;
        return true;
      }
      const v = readString(st);
      meta.mapId = v;
      return v !== undefined;
    }
    return false;
  });
  skipWs(st);
  // Kept for the next scan, unless one huge input grew it: that memory goes back with this shard.
  if (st.out.length <= 1 << 20) scratch = st.out;
  if (st.refused !== undefined) return { refused: st.refused };
  if (!ok || st.i !== st.n || !gotFiles) return undefined;
  // What parseShard asks of a shard (it would refuse the others, with a message saying why).
  if (meta.format !== SHARD_FORMAT || !SHARD_VERSIONS_READ.includes(meta.version as number)) return undefined;
  for (const k of META_STRINGS) if (!isSafeName(meta[k], 1024)) return undefined;
  if (typeof meta.invocations !== 'number' || !('mapId' in meta) || (meta.mapId !== null && !isHash(meta.mapId))) return undefined;
  if (!hashes && shardNeedsHashes(meta.version, meta.mapId)) return undefined;
  const packed: PackedShard = { shard: meta as unknown as Omit<Shard, 'files'>, files, counters: st.out.slice(0, st.len) };
  if (tests !== undefined || init) {
    if (meta.version !== SHARD_VERSION) return undefined;
    const perTest = perTestOf(st, files, tests ?? [], testRecords, initRecords);
    if (perTest === undefined) return undefined;
    packed.perTest = perTest;
  }
  return packed;
}
