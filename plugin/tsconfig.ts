/**
 * Which decorator syntax a file is written in, read from tsconfig the way esbuild does: the build's
 * `tsconfigRaw`, else its `tsconfig` file, else the nearest tsconfig.json above the file, following
 * `extends`. Only `compilerOptions.experimentalDecorators` matters here.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { DecoratorsFlavor } from './options.js';

/** tsconfig files are JSON with comments and trailing commas. */
export function parseJsonc(text: string): unknown {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end === -1 ? text.length : end + 2;
    } else {
      out += c;
      i++;
    }
  }
  return JSON.parse(out.replace(/,(\s*[}\]])/g, '$1'));
}

interface TsconfigShape {
  extends?: string | string[];
  compilerOptions?: { experimentalDecorators?: boolean };
}

/** `experimentalDecorators` of one config file after its `extends` chain; undefined when unset. */
async function readExperimentalDecorators(file: string, seen: Set<string>): Promise<boolean | undefined> {
  if (seen.has(file) || seen.size > 20) return undefined;
  seen.add(file);
  let config: TsconfigShape;
  try {
    config = parseJsonc(await readFile(file, 'utf8')) as TsconfigShape;
  } catch {
    return undefined;
  }
  const own = config.compilerOptions?.experimentalDecorators;
  if (typeof own === 'boolean') return own;
  const parents = config.extends === undefined ? [] : [config.extends].flat();
  // With several bases, later ones win.
  for (const base of parents.reverse()) {
    const path = resolveExtends(base, file);
    if (!path) continue;
    const v = await readExperimentalDecorators(path, seen);
    if (v !== undefined) return v;
  }
  return undefined;
}

function resolveExtends(base: string, from: string): string | undefined {
  if (base.startsWith('.') || isAbsolute(base)) {
    const p = resolve(dirname(from), base);
    return p.endsWith('.json') ? p : `${p}.json`;
  }
  const require = createRequire(from);
  for (const candidate of [base, `${base}.json`, `${base}/tsconfig.json`]) {
    try {
      return require.resolve(candidate);
    } catch {
      // try the next spelling
    }
  }
  return undefined;
}


/** Per-build memo: decorator flavor by directory. */
export class DecoratorsResolver {
  private readonly byDir = new Map<string, Promise<DecoratorsFlavor>>();
  private readonly fixed: Promise<DecoratorsFlavor> | undefined;

  constructor(opts: { tsconfigRaw?: string | object | undefined; tsconfig?: string | undefined; cwd: string }) {
    if (opts.tsconfigRaw !== undefined) {
      let raw: TsconfigShape = {};
      try {
        raw = (typeof opts.tsconfigRaw === 'string' ? parseJsonc(opts.tsconfigRaw) : opts.tsconfigRaw) as TsconfigShape;
      } catch {
        // esbuild reports a bad tsconfigRaw itself.
      }
      this.fixed = Promise.resolve(raw.compilerOptions?.experimentalDecorators ? 'legacy' : 'standard');
    } else if (opts.tsconfig !== undefined) {
      const file = resolve(opts.cwd, opts.tsconfig);
      this.fixed = readExperimentalDecorators(file, new Set()).then((v) => (v ? 'legacy' : 'standard'));
    }
  }

  flavorFor(file: string): Promise<DecoratorsFlavor> {
    return this.fixed ?? this.forDir(dirname(file));
  }

  private forDir(dir: string): Promise<DecoratorsFlavor> {
    let p = this.byDir.get(dir);
    if (!p) {
      p = (async () => {
        const candidate = join(dir, 'tsconfig.json');
        // existsSync: one stat and no Error for the usual miss (the rejected access() of each directory
        // without a tsconfig.json was ~4 ms of a warm rxjs build).
        if (existsSync(candidate)) {
          return (await readExperimentalDecorators(candidate, new Set())) ? 'legacy' : 'standard';
        }
        const parent = dirname(dir);
        return parent === dir ? 'standard' : this.forDir(parent);
      })();
      this.byDir.set(dir, p);
    }
    return p;
  }
}
