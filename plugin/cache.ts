/**
 * Content-hash disk cache of instrumented files, keyed by request.ts `cacheKey`: a hash of the file's
 * whole instrument spec (its bytes' hash, its coverage key, every option that changes the output,
 * the versions of the tools that produce it). Entries are written atomically (temp file + rename), so concurrent
 * builds sharing one directory never read half a file; an unreadable entry is a miss.
 *
 * Entry layout, one file, so that a hit costs one read and no JSON parsing:
 *   line 1: JSON of the file's static maps (or null), `{"path":…}`
 *   line 2: source map JSON text (one line; may be empty)
 *   rest:   the instrumented code
 *
 * Packs: a build also keeps the entries it used in one pack file (`packs/<build id>.pack`), opened
 * once when the next run of that build starts, so a warm build opens one file instead of one per
 * source file (those opens and reads were a third of its plugin time). A pack only speeds up
 * lookups: its entries are the same bytes under the same keys, anything it lacks comes from its own
 * file, and a pack that does not check out is ignored whole. It is rewritten (atomically) only when
 * the build used other entries than it holds; between rebuilds of one esbuild context the last
 * build's entries stay in memory instead.
 *
 *   line 1: {"format":"lambda-coverage-pack","version":1,"entries":[[key, byte length], …],"manifest":…}
 *   rest:   those entries' bytes, back to back, in that order
 * `manifest` is the signature (manifest.ts) of the build manifest the build left holding exactly its
 * files, if it did: a warm build that uses exactly these entries and finds that file unchanged has
 * nothing to merge or write.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Instrumented } from './instrumented.js';

/**
 * One file as the plugin hands it on: code and source map as text or bytes (a cache hit stays bytes
 * all the way to esbuild), the maps as JSON text for the manifest (null: file not counted).
 */
export interface Loaded {
  code: string | Uint8Array;
  map: string | Uint8Array;
  mapsJson: string | null;
}

export function fromInstrumented(out: Instrumented): Loaded {
  return { code: out.code, map: out.map, mapsJson: out.maps ? JSON.stringify(out.maps) : null };
}

export function encodeEntry(value: Loaded): string | Buffer {
  const text = (v: string | Uint8Array) => (typeof v === 'string' ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8'));
  return `${value.mapsJson ?? 'null'}\n${text(value.map)}\n${text(value.code)}`;
}

export function decodeEntry(bytes: Buffer): Loaded | undefined {
  const a = bytes.indexOf(10);
  const b = a === -1 ? -1 : bytes.indexOf(10, a + 1);
  if (b === -1) return undefined;
  const mapsJson = bytes.toString('utf8', 0, a);
  // Entries are written whole (rename), so a light check is enough to refuse a stray file.
  if (mapsJson !== 'null' && !(mapsJson.startsWith('{"path":') && mapsJson.endsWith('}'))) return undefined;
  return { mapsJson: mapsJson === 'null' ? null : mapsJson, map: bytes.subarray(a + 1, b), code: bytes.subarray(b + 1) };
}

const PACK_FORMAT = 'lambda-coverage-pack';
const PACK_VERSION = 1;

/**
 * Where each entry of a pack lies (byte offset, length), from the index line at the start of a file of
 * `size` bytes; undefined unless it is a whole pack of this version.
 */
export function decodePackIndex(head: Buffer, size: number): PackIndex | undefined {
  const nl = head.indexOf(10);
  if (nl === -1) return undefined;
  let index: unknown;
  try {
    index = JSON.parse(head.toString('utf8', 0, nl));
  } catch {
    return undefined;
  }
  const { format, version, entries, manifest } = (index ?? {}) as { format?: unknown; version?: unknown; entries?: unknown; manifest?: unknown };
  if (format !== PACK_FORMAT || version !== PACK_VERSION || !Array.isArray(entries)) return undefined;
  if (manifest !== undefined && typeof manifest !== 'string') return undefined;
  const out = new Map<string, [number, number]>();
  let at = nl + 1;
  for (const e of entries as unknown[]) {
    const [key, length] = Array.isArray(e) ? (e as unknown[]) : [];
    if (typeof key !== 'string' || typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) return undefined;
    out.set(key, [at, length]);
    at += length;
  }
  // A pack is written whole (rename): a length that does not add up is not one of ours.
  return at === size ? { entries: out, manifest } : undefined;
}

/** A whole pack in memory, entry bytes by key (for tests and tools). */
export function decodePack(bytes: Buffer): Map<string, Buffer> | undefined {
  const index = decodePackIndex(bytes, bytes.length);
  return index && new Map([...index.entries].map(([k, [at, length]]) => [k, bytes.subarray(at, at + length)]));
}

export function encodePack(entries: ReadonlyMap<string, Uint8Array>, manifest?: string): Buffer {
  const index = JSON.stringify({ format: PACK_FORMAT, version: PACK_VERSION, entries: [...entries].map(([k, v]) => [k, v.byteLength]), manifest });
  return Buffer.concat([Buffer.from(`${index}\n`), ...entries.values()]);
}

async function writeAtomically(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

export interface PackIndex {
  /** Key -> [byte offset, byte length] in the pack file. */
  entries: Map<string, [number, number]>;
  manifest: string | undefined;
}

/** A build's pack entries: from the pack file, or from memory on a rebuild of one esbuild context. */
interface Pack {
  has(key: string): boolean;
  read(key: string): Buffer | undefined;
  readonly size: number;
  readonly manifest: string | undefined;
  close(): void;
}

function memoryPack(entries: Map<string, Buffer>, manifest: string | undefined): Pack {
  return { has: (k) => entries.has(k), read: (k) => entries.get(k), size: entries.size, manifest, close: () => undefined };
}

/**
 * The pack file kept open for the build, each entry one positioned read when asked for. Measured on
 * rxjs (227 entries, 1.3 MB): reading the whole file into one fresh buffer cost more than the
 * small reads; opening one file per entry cost five times as much.
 */
function openPack(file: string): Pack | 'none' | 'bad' {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return 'none';
  }
  let index: PackIndex | undefined;
  try {
    const size = fstatSync(fd).size;
    // The index line: ~75 bytes an entry.
    let head = Buffer.allocUnsafe(Math.min(size, 64 * 1024));
    let n = readSync(fd, head, 0, head.length, 0);
    while (head.indexOf(10) === -1 && n === head.length && n < size) {
      const bigger = Buffer.allocUnsafe(Math.min(size, head.length * 4));
      head.copy(bigger, 0, 0, n);
      head = bigger;
      n += readSync(fd, head, n, head.length - n, n);
    }
    index = decodePackIndex(head.subarray(0, n), size);
  } catch {
    index = undefined;
  }
  if (!index) {
    closeSync(fd);
    return 'bad';
  }
  const { entries, manifest } = index;
  let open = true;
  return {
    has: (k) => entries.has(k),
    read(k) {
      const where = entries.get(k);
      if (!where || !open) return undefined;
      const bytes = Buffer.allocUnsafe(where[1]);
      try {
        return readSync(fd, bytes, 0, where[1], where[0]) === where[1] ? bytes : undefined;
      } catch {
        return undefined;
      }
    },
    size: entries.size,
    manifest,
    close() {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

export class InstrumentCache {
  private madeDirs = new Set<string>();
  private pack: Pack | undefined;
  private packFile: string | undefined;
  /** Entries this build used, by key, as the bytes a pack stores. */
  private used = new Map<string, Buffer>();
  /** What became of the pack, for the debug line. */
  packNote = '';

  constructor(private readonly dir: string) {}

  private fileFor(key: string): { dir: string; file: string } {
    const dir = join(this.dir, key.slice(0, 2));
    return { dir, file: join(dir, `${key}.txt`) };
  }

  /**
   * A build starts: `buildId` names the build (same entry points, output and options, run again).
   * Its pack is opened here; a rebuild of the same instance has the last build's entries in memory.
   */
  startBuild(buildId: string): void {
    this.used = new Map();
    const file = join(this.dir, 'packs', `${buildId}.pack`);
    if (this.packFile === file && this.pack) {
      this.packNote = `the last build's ${this.pack.size} entries in memory`;
      return;
    }
    this.pack?.close();
    this.packFile = file;
    const pack = openPack(file);
    this.pack = typeof pack === 'string' ? undefined : pack;
    this.packNote = pack === 'none' ? 'no pack yet' : pack === 'bad' ? `pack ${file} ignored (not a whole pack)` : `pack of ${pack.size} entries`;
  }

  /** From the pack, else its own file (a sync read: cheaper than the four async round trips of fs.promises.readFile). */
  get(key: string): Loaded | undefined {
    let bytes = this.pack?.read(key);
    let hit = bytes ? decodeEntry(bytes) : undefined;
    if (!hit) {
      try {
        bytes = readFileSync(this.fileFor(key).file);
      } catch {
        return undefined;
      }
      hit = decodeEntry(bytes);
    }
    if (hit && bytes) this.used.set(key, bytes);
    return hit;
  }

  /** Rejects when the directory cannot be written; the caller reports it once and goes on. */
  async set(key: string, value: Loaded): Promise<void> {
    const bytes = Buffer.from(encodeEntry(value));
    this.used.set(key, bytes);
    const { dir, file } = this.fileFor(key);
    if (!this.madeDirs.has(dir)) {
      await mkdir(dir, { recursive: true });
      this.madeDirs.add(dir);
    }
    await writeAtomically(file, bytes);
  }

  /** This build has used exactly the entries of its pack (so far: call it at the end of the build). */
  usedJustThePack(): boolean {
    const { used, pack } = this;
    return pack !== undefined && pack.size === used.size && [...used.keys()].every((k) => pack.has(k));
  }

  /** The manifest signature the pack's build recorded (see the top of this file). */
  get packedManifest(): string | undefined {
    return this.pack?.manifest;
  }

  /**
   * The build is over (`ok`: without errors). The pack becomes exactly the entries the build used and
   * the signature of the manifest it left (if it holds exactly its files), written only when either
   * differs from what it held. Resolves to whether it was written.
   */
  async finishBuild(ok: boolean, manifest: string | undefined): Promise<boolean> {
    const { used, pack, packFile } = this;
    const same = this.usedJustThePack() && pack?.manifest === manifest;
    pack?.close();
    this.pack = undefined;
    if (!ok || !packFile || used.size === 0) return false;
    this.pack = memoryPack(used, manifest);
    if (same) return false;
    await mkdir(dirname(packFile), { recursive: true });
    await writeAtomically(packFile, encodePack(used, manifest));
    return true;
  }

  /** The esbuild context is disposed. */
  close(): void {
    this.pack?.close();
    this.pack = undefined;
  }
}
