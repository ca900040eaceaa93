/**
 * Content-hash disk cache of instrumented files. The key covers everything the output depends on:
 * the file's text, its coverage key, every option that changes the output, and the versions of the
 * tools that produce it. Entries are written atomically (temp file + rename), so concurrent builds
 * sharing one directory never read half a file; a corrupt entry is a miss.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Instrumented, InstrumentRequest } from './instrument-core.js';

export function cacheKey(req: InstrumentRequest, toolVersions: string): string {
  const h = createHash('sha256');
  h.update(toolVersions).update('\0');
  h.update(JSON.stringify([req.key, req.loader, req.lean, req.coverageVariable, req.decorators, req.ignoreClassMethods, req.filename]));
  h.update('\0').update(req.code);
  return h.digest('hex');
}

function isInstrumented(v: unknown): v is Instrumented {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o.contents === 'string' && (o.maps === null || (typeof o.maps === 'object' && typeof (o.maps as { hash?: unknown }).hash === 'string'));
}

export class InstrumentCache {
  private madeDirs = new Set<string>();
  constructor(private readonly dir: string) {}

  private fileFor(key: string): { dir: string; file: string } {
    const dir = join(this.dir, key.slice(0, 2));
    return { dir, file: join(dir, `${key}.json`) };
  }

  async get(key: string): Promise<Instrumented | undefined> {
    try {
      const v: unknown = JSON.parse(await readFile(this.fileFor(key).file, 'utf8'));
      return isInstrumented(v) ? v : undefined;
    } catch {
      return undefined;
    }
  }

  /** Best effort: a cache that cannot be written only costs time, it is reported by the caller. */
  async set(key: string, value: Instrumented): Promise<void> {
    const { dir, file } = this.fileFor(key);
    if (!this.madeDirs.has(dir)) {
      await mkdir(dir, { recursive: true });
      this.madeDirs.add(dir);
    }
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, JSON.stringify(value));
    await rename(tmp, file);
  }
}
