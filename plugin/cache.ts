/**
 * Content-hash disk cache of instrumented files. The key covers everything the output depends on:
 * the file's bytes, its coverage key, every option that changes the output, and the versions
 * of the tools that produce it. Entries are written atomically (temp file + rename), so concurrent
 * builds sharing one directory never read half a file; an unreadable entry is a miss.
 *
 * Entry layout, one file, so that a hit costs one read and no JSON parsing:
 *   line 1: JSON of the file's static maps (or null), `{"path":…}`
 *   line 2: source map JSON text (one line; may be empty)
 *   rest:   the instrumented code
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Instrumented, InstrumentRequest } from './instrument-core.js';

export function cacheKey(req: Omit<InstrumentRequest, 'code'>, code: string | Uint8Array, toolVersions: string): string {
  const h = createHash('sha256');
  h.update(toolVersions).update('\0');
  // Not the absolute path: the output depends on the key only, so a cache restored into another
  // checkout directory (CI) still hits.
  h.update(JSON.stringify([req.key, req.loader, req.lean, req.coverageVariable, req.decorators, req.ignoreClassMethods, req.sourceMap]));
  h.update('\0').update(code);
  return h.digest('hex');
}

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

export class InstrumentCache {
  private madeDirs = new Set<string>();
  constructor(private readonly dir: string) {}

  private fileFor(key: string): { dir: string; file: string } {
    const dir = join(this.dir, key.slice(0, 2));
    return { dir, file: join(dir, `${key}.txt`) };
  }

  /** Sync read: one small file, cheaper than the four async round trips of fs.promises.readFile. */
  get(key: string): Loaded | undefined {
    try {
      return decodeEntry(readFileSync(this.fileFor(key).file));
    } catch {
      return undefined;
    }
  }

  /** Rejects when the directory cannot be written; the caller reports it once and goes on. */
  async set(key: string, value: Loaded): Promise<void> {
    const { dir, file } = this.fileFor(key);
    if (!this.madeDirs.has(dir)) {
      await mkdir(dir, { recursive: true });
      this.madeDirs.add(dir);
    }
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, encodeEntry(value));
    await rename(tmp, file);
  }
}
