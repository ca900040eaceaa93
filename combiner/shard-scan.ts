/**
 * The fast path of reading a shard: the bytes the runtime writes (JSON of a fixed shape: string and
 * integer fields, then `files` of `{ "s": [..], "f": [..], "b": [[..], ..] }`) are scanned once,
 * straight into the packed form (one Float64Array of counters in file order), without building the
 * millions of small arrays JSON.parse would and without a second pass to check and pack them.
 *
 * It takes only what it can read exactly as `packShard(parseShard(JSON.parse(text)))` would, and
 * returns undefined for anything else (escapes in a string, a number that is not a plain non-negative
 * integer of at most 15 digits, unknown or repeated keys, counters in another order, a file path that
 * JSON.parse would reorder, a shard that parseShard would refuse): the general path then reads it,
 * with its own error messages. Pure.
 */
import { SHARD_FORMAT, type Shard } from '../runtime/shard-format.js';
import type { PackedFile, PackedShard } from './decode.js';

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

export function scanShard(bytes: Uint8Array): PackedShard | undefined {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = b.length;
  let i = 0;
  let out = new Float64Array(Math.max(64, n >>> 2));
  let len = 0;

  const ws = (): void => {
    while (i < n) {
      const c = b[i];
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else return;
    }
  };
  /** A string without escapes, or undefined. */
  const str = (): string | undefined => {
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
    const s = b.toString(ascii ? 'latin1' : 'utf8', start, i);
    i++;
    return s;
  };
  /** A plain non-negative integer literal of at most 15 digits (so a safe integer), or -1. */
  const int = (): number => {
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
    const c = b[i];
    if (c === 0x2e || c === 0x65 || c === 0x45) return -1;
    return v;
  };
  const push = (v: number): void => {
    if (len === out.length) {
      const bigger = new Float64Array(out.length * 2);
      bigger.set(out);
      out = bigger;
    }
    out[len++] = v;
  };
  /** `[int, …]` appended to the counters: how many, or -1. */
  const ints = (): number => {
    if (b[i] !== LBRACK) return -1;
    i++;
    ws();
    if (b[i] === RBRACK) { i++; return 0; }
    let count = 0;
    for (;;) {
      const v = int();
      if (v < 0) return -1;
      push(v);
      count++;
      ws();
      const c = b[i++];
      if (c === RBRACK) return count;
      if (c !== COMMA) return -1;
      ws();
    }
  };
  /** `[[int, …], …]` appended: the arm count of each branch, or undefined. */
  const branches = (): number[] | undefined => {
    if (b[i] !== LBRACK) return undefined;
    i++;
    ws();
    const arms: number[] = [];
    if (b[i] === RBRACK) { i++; return arms; }
    for (;;) {
      const k = ints();
      if (k < 0) return undefined;
      arms.push(k);
      ws();
      const c = b[i++];
      if (c === RBRACK) return arms;
      if (c !== COMMA) return undefined;
      ws();
    }
  };
  /** `{ key: value, … }`: calls `field` after each key's colon; false when anything is off. */
  const object = (field: (key: string) => boolean): boolean => {
    if (b[i] !== LBRACE) return false;
    i++;
    ws();
    if (b[i] === RBRACE) { i++; return true; }
    for (;;) {
      const key = str();
      if (key === undefined) return false;
      ws();
      if (b[i++] !== COLON) return false;
      ws();
      if (!field(key)) return false;
      ws();
      const c = b[i++];
      if (c === RBRACE) return true;
      if (c !== COMMA) return false;
      ws();
    }
  };

  const files: PackedFile[] = [];
  const seenPaths = new Set<string>();
  let hashesComplete = true;
  const file = (path: string): boolean => {
    if (seenPaths.has(path) || INDEX_LIKE.test(path)) return false;
    seenPaths.add(path);
    const f: PackedFile = { path, hash: '', s: -1, f: -1, arms: [] };
    let hash: string | undefined;
    let startedAt: string | undefined;
    let updatedAt: string | undefined;
    let gotB = false;
    const ok = object((key) => {
      // Counters go into the buffer as they come, so they must come as packShard orders them: s, f, b.
      if (key === 's') {
        if (f.s >= 0 || f.f >= 0 || gotB) return false;
        f.s = ints();
        return f.s >= 0;
      }
      if (key === 'f') {
        if (f.s < 0 || f.f >= 0 || gotB) return false;
        f.f = ints();
        return f.f >= 0;
      }
      if (key === 'b') {
        if (f.f < 0 || gotB) return false;
        const arms = branches();
        if (arms === undefined) return false;
        f.arms = arms;
        gotB = true;
        return true;
      }
      let v: string | undefined;
      if (key === 'hash' && hash === undefined) v = hash = str();
      else if (key === 'startedAt' && startedAt === undefined) v = startedAt = str();
      else if (key === 'updatedAt' && updatedAt === undefined) v = updatedAt = str();
      return v !== undefined;
    });
    if (!ok || !gotB) return false;
    if (hash === '') return false;
    if (hash === undefined) hashesComplete = false;
    else f.hash = hash;
    if (startedAt !== undefined) f.startedAt = startedAt;
    if (updatedAt !== undefined) f.updatedAt = updatedAt;
    files.push(f);
    return true;
  };

  const meta: Record<string, unknown> = {};
  let gotFiles = false;
  ws();
  const ok = object((key) => {
    if (key in meta || (key === 'files' && gotFiles)) return false;
    if (key === 'files') {
      gotFiles = true;
      return object(file);
    }
    if (META_STRINGS.has(key)) {
      const v = str();
      meta[key] = v;
      return v !== undefined;
    }
    if (key === 'version' || key === 'invocations') {
      const v = int();
      meta[key] = v;
      return v >= 0;
    }
    if (key === 'mapId') {
      if (b[i] === 0x6e && b[i + 1] === 0x75 && b[i + 2] === 0x6c && b[i + 3] === 0x6c) {
        i += 4;
        meta.mapId = null;
        return true;
      }
      const v = str();
      meta.mapId = v;
      return v !== undefined;
    }
    return false;
  });
  ws();
  if (!ok || i !== n || !gotFiles) return undefined;
  // What parseShard asks of a shard (it would refuse the others, with a message saying why).
  if (meta.format !== SHARD_FORMAT || (meta.version !== 1 && meta.version !== 2)) return undefined;
  for (const k of META_STRINGS) if (typeof meta[k] !== 'string') return undefined;
  if (typeof meta.invocations !== 'number' || !('mapId' in meta)) return undefined;
  if (!hashesComplete && (meta.version === 1 || meta.mapId === null)) return undefined;
  return { shard: meta as unknown as Omit<Shard, 'files'>, files, counters: out.slice(0, len) };
}
