// Pure parts of the plugin: options, file selection, loaders, tsconfig reading, manifest merging.
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import TestExclude from 'test-exclude';
import { describe, expect, it } from 'vitest';
import { autoWorkers, DEFAULT_EXCLUDE, DEFAULT_EXTENSIONS, resolveOptions } from '../../plugin/options.js';
import { coverageKey, createSelector, extensionsFilter, literalPieces, loaderFor } from '../../plugin/select.js';
import { DecoratorsResolver, parseJsonc } from '../../plugin/tsconfig.js';
import { manifestSignature, mergeEntries, readManifestEntries, renderManifest, writeManifest } from '../../plugin/manifest.js';
import { parseManifest } from '../../contract/format.js';
import { decodeEntry, decodePack, encodeEntry, encodePack, InstrumentCache } from '../../plugin/cache.js';
import type { FileMaps } from '../../contract/format.js';

const cwd = '/proj';
const paths = [
  'src/a.ts', 'src/a.tsx', 'src/b.mts', 'src/c.cts', 'src/d.js', 'src/e.jsx', 'src/f.mjs', 'src/g.cjs',
  'src/types.d.ts', 'src/x.d.mts', 'src/a.test.ts', 'src/a.spec.tsx', 'src/a-test.js', 'test/setup.ts', 'tests/x.js',
  'src/__tests__/a.ts', 'src/__mocks__/fs.ts', 'coverage/lcov-report/prettify.js', 'node_modules/dep/index.js',
  'packages/p/node_modules/dep/a.ts', 'packages/p/test/a.ts', 'vitest.config.ts', 'src/deep/dir/file.ts',
  'lib/util.js', 'src/style.css', 'src/data.json', 'src/legacy/old.ts',
].map((p) => `${cwd}/${p}`);

function selected(include: string[], exclude: string[] = DEFAULT_EXCLUDE): string[] {
  const sel = createSelector({ cwd, include, exclude, extensions: DEFAULT_EXTENSIONS });
  return paths.filter(sel).map((p) => coverageKey(cwd, p));
}

describe('file selection', () => {
  it('by default takes the project\'s own sources: no tests, no node_modules, no .d.ts', () => {
    expect(selected([])).toEqual([
      'src/a.ts', 'src/a.tsx', 'src/b.mts', 'src/c.cts', 'src/d.js', 'src/e.jsx', 'src/f.mjs', 'src/g.cjs',
      'src/deep/dir/file.ts', 'lib/util.js', 'src/legacy/old.ts',
    ]);
  });

  it('agrees with test-exclude\'s own shouldInstrument on include/exclude/negation', () => {
    const cases: Array<[string[], string[]]> = [
      [[], DEFAULT_EXCLUDE],
      [['src/**'], DEFAULT_EXCLUDE],
      [['src'], []],
      [['src/**/*.ts', 'lib/'], ['**/legacy/**']],
      [['**/*.ts'], ['src/deep', '!src/deep/dir/file.ts']],
      [['src/**', '!src/a.*'], []],
      [['src/**/*.{ts,tsx}'], ['**/[ab].ts', '**/*-test.js']],
      [['src/**'], ['**/@(deep|legacy)/**', 'src/?.mts']],
      [['**/*.?(c|m)[jt]s'], ['**/*.{test,spec}.*']],
    ];
    for (const [include, exclude] of cases) {
      const te = new TestExclude({ cwd, include: include.length ? include : false, exclude, extension: DEFAULT_EXTENSIONS, excludeNodeModules: true });
      const expected = paths.filter((p) => te.shouldInstrument(p) && !/\.d\.[cm]?ts$/.test(p)).map((p) => coverageKey(cwd, p));
      expect(selected(include, exclude), JSON.stringify([include, exclude])).toEqual(expected);
    }
  });

  it('prefilters globs by the literal pieces a matching path must contain', () => {
    const expand = (g: string) => (g === 'a/{b,c}.ts' ? ['a/b.ts', 'a/c.ts'] : [g]);
    expect(literalPieces('**/__tests__/**', expand)).toEqual([['__tests__']]);
    expect(literalPieces('a/{b,c}.ts', expand)).toEqual([['a', 'b.ts'], ['a', 'c.ts']]);
    expect(literalPieces('src/[ab]*.@(x|y).js', expand)).toEqual([['src', '.', '.js']]);
    expect(literalPieces('a\\*b', expand)).toBeUndefined();
  });

  it('never takes node_modules or .d.ts, even when include and exclude say so', () => {
    expect(selected(['**'], [])).not.toContain('node_modules/dep/index.js');
    expect(selected(['**'], [])).not.toContain('src/types.d.ts');
    expect(selected(['**'], [])).toContain('src/a.test.ts');
  });

  it('never takes files outside cwd', () => {
    const sel = createSelector({ cwd, include: ['**'], exclude: [], extensions: DEFAULT_EXTENSIONS });
    expect(sel('/elsewhere/a.ts')).toBe(false);
    expect(sel('/proj-other/a.ts')).toBe(false);
  });

  it('filters in esbuild with an alternation of the extensions', () => {
    const re = extensionsFilter(DEFAULT_EXTENSIONS);
    expect(['a.ts', 'a.tsx', 'a.mts', 'a.cjs', 'a.jsx'].every((f) => re.test(f))).toBe(true);
    expect(['a.css', 'a.json', 'a.tsx.map', 'a.tss'].some((f) => re.test(f))).toBe(false);
  });

  it('picks the loader by extension unless the build maps it', () => {
    expect(loaderFor('/p/a.mts', undefined)).toBe('ts');
    expect(loaderFor('/p/a.tsx', undefined)).toBe('tsx');
    expect(loaderFor('/p/a.cjs', undefined)).toBe('js');
    expect(loaderFor('/p/a.js', { '.js': 'jsx' })).toBe('jsx');
    expect(loaderFor('/p/a.js', { '.js': 'text' })).toBeUndefined();
  });
});

describe('resolveOptions', () => {
  it('applies defaults, with cwd from esbuild\'s absWorkingDir', () => {
    const o = resolveOptions({}, { env: {}, buildCwd: '/work/app', cores: 2 });
    expect(o).toMatchObject({
      enabled: false, lean: true, cwd: '/work/app', workers: 0,
      cacheDir: '/work/app/node_modules/.cache/lambda-coverage', onFailure: 'error', decorators: 'auto',
    });
  });

  it('is enabled by the option, else by COVERAGE_ENABLED=1', () => {
    expect(resolveOptions({}, { env: { COVERAGE_ENABLED: '1' } }).enabled).toBe(true);
    expect(resolveOptions({}, { env: { COVERAGE_ENABLED: '0' } }).enabled).toBe(false);
    expect(resolveOptions({ enabled: false }, { env: { COVERAGE_ENABLED: '1' } }).enabled).toBe(false);
    expect(resolveOptions({ enabled: true }, { env: {} }).enabled).toBe(true);
  });

  it('uses worker threads only with more than 2 cores', () => {
    expect(autoWorkers(2)).toBe(0);
    expect(autoWorkers(4)).toBe(3);
    expect(resolveOptions({ workers: 2 }, { cores: 2 }).workers).toBe(2);
  });

  it('says which option is wrong and what it expected', () => {
    expect(() => resolveOptions({ include: [''] })).toThrow(/option "include" must be a glob string/);
    expect(() => resolveOptions({ workers: -1 })).toThrow(/option "workers"/);
    expect(() => resolveOptions({ cache: 3 as never })).toThrow(/option "cache" must be a directory path or false/);
    expect(resolveOptions({ cache: false }).cacheDir).toBeNull();
  });

  it('refuses the removed coverageVariable, saying why and what to do, whatever its value', () => {
    // The runtime reads one global (runtime/coverage-global.ts); a build counting elsewhere went unseen.
    for (const v of ['__lambdaCov__', '__coverage__']) {
      expect(() => resolveOptions({ coverageVariable: v } as never)).toThrow(/option "coverageVariable" was removed: the bundle always counts into globalThis.__coverage__, the global the Lambda layer reads .*; remove the option/);
    }
    expect('coverageVariable' in resolveOptions({})).toBe(false);
  });
});

describe('tsconfig decorators', () => {
  it('parses JSON with comments and trailing commas, keeping // inside strings', () => {
    expect(parseJsonc('{ /* c */ "a": "http://x", // d\n "b": [1, 2,], }')).toEqual({ a: 'http://x', b: [1, 2] });
  });

  it('follows the nearest tsconfig and its extends chain', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lc-tsconfig-'));
    try {
      mkdirSync(join(dir, 'a/b'), { recursive: true });
      writeFileSync(join(dir, 'base.json'), '{ "compilerOptions": { "experimentalDecorators": true } }');
      writeFileSync(join(dir, 'tsconfig.json'), '{ // root\n "compilerOptions": {} }');
      writeFileSync(join(dir, 'a/tsconfig.json'), '{ "extends": "../base" }');
      const r = new DecoratorsResolver({ cwd: dir });
      expect(await r.flavorFor(join(dir, 'x.ts'))).toBe('standard');
      expect(await r.flavorFor(join(dir, 'a/b/y.ts'))).toBe('legacy');
      expect(await new DecoratorsResolver({ cwd: dir, tsconfigRaw: { compilerOptions: { experimentalDecorators: true } } }).flavorFor(join(dir, 'x.ts'))).toBe('legacy');
      expect(await new DecoratorsResolver({ cwd: dir, tsconfig: 'a/tsconfig.json' }).flavorFor(join(dir, 'x.ts'))).toBe('legacy');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const maps = (path: string, hash: string): FileMaps => ({ path, hash, statementMap: {}, fnMap: {}, branchMap: {} });

describe('manifest', () => {
  const entries = (...m: FileMaps[]) => new Map(m.map((x) => [x.path, JSON.stringify(x)]));

  it('merges another entry point\'s files and drops what this build no longer bundles', () => {
    const merged = mergeEntries(entries(maps('a.ts', '1'), maps('old.ts', '2')), entries(maps('b.ts', '3'), maps('a.ts', '4')), new Set(['old.ts']));
    expect([...merged.keys()].sort()).toEqual(['a.ts', 'b.ts']);
    expect(JSON.parse(merged.get('a.ts')!).hash).toBe('4');
  });

  it('drops entries of files that no longer exist', () => {
    const merged = mergeEntries(entries(maps('gone.ts', '1'), maps('kept.ts', '2')), entries(maps('new.ts', '3')), new Set(), (k) => k !== 'gone.ts');
    expect([...merged.keys()].sort()).toEqual(['kept.ts', 'new.ts']);
  });

  it('renders a valid manifest, one file a line, and reads it back (ours fast, others parsed)', () => {
    const e = entries(maps('src/b (q) ü.ts', '2'), maps('src/a.ts', '1'));
    const text = renderManifest(e, 'gen', new Date(0));
    const parsed = parseManifest(JSON.parse(text));
    expect(Object.keys(parsed.files)).toEqual(['src/a.ts', 'src/b (q) ü.ts']);
    expect(parsed.generator).toBe('gen');
    expect(text.split('\n')).toHaveLength(5);
    expect(readManifestEntries(text, 'm')).toEqual(new Map([...e].sort()));
    const pretty = JSON.stringify(JSON.parse(text), null, 2);
    expect(readManifestEntries(pretty, 'm')).toEqual(new Map([...e].sort()));
    expect(() => readManifestEntries('{"format":"other"}', 'm')).toThrow(/not a lambda-coverage\/manifest/);
  });

  it('leaves a manifest that already lists exactly these files as it is, and rewrites any other', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'lc-manifest-'));
    try {
      const file = join(tmp, 'out', 'm.json');
      const e = entries(maps('src/a.ts', '1'), maps('src/b.ts', '2'));
      const first = await writeManifest(file, e, new Set(), 'gen');
      expect(first.written).toBe(true);
      // The signature names the file as written, and only while it holds exactly these files.
      expect(first.signature).toBe(manifestSignature(file));
      const text = readFileSync(file, 'utf8');
      expect(await writeManifest(file, new Map([...e].reverse()), new Set(), 'gen')).toEqual({ written: false, entries: e, signature: first.signature });
      expect(readFileSync(file, 'utf8')).toBe(text);
      // Another entry point's build into the same directory: merged, and no signature for either.
      // The entries returned are the manifest's now (its maps document is made from them).
      const all = new Map([...e, ...entries(maps('src/c.ts', '5'))]);
      expect(await writeManifest(file, entries(maps('src/c.ts', '5')), new Set(), 'gen')).toEqual({ written: true, entries: all, signature: undefined });
      expect(await writeManifest(file, e, new Set(), 'gen')).toEqual({ written: false, entries: all, signature: undefined });
      // Another generator wrote it: rewritten, though the maps are the same.
      expect((await writeManifest(file, e, new Set(['src/c.ts']), 'gen 2')).written).toBe(true);
      expect(parseManifest(JSON.parse(readFileSync(file, 'utf8'))).generator).toBe('gen 2');
      // A changed file, a dropped one: rewritten.
      expect((await writeManifest(file, entries(maps('src/a.ts', '3')), new Set(['src/b.ts']), 'gen 2')).written).toBe(true);
      const files = parseManifest(JSON.parse(readFileSync(file, 'utf8'))).files;
      expect(Object.keys(files)).toEqual(['src/a.ts']);
      expect(files['src/a.ts']!.hash).toBe('3');
      expect(manifestSignature(join(tmp, 'none.json'))).toBeUndefined();
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('cache entries', () => {
  it('round-trip code, source map and maps, and refuse what is not an entry', () => {
    const mapsJson = JSON.stringify(maps('a.ts', 'h'));
    const back = decodeEntry(Buffer.from(encodeEntry({ code: 'a\nb\n', map: '{"version":3}', mapsJson })))!;
    expect([back.mapsJson, Buffer.from(back.map).toString(), Buffer.from(back.code).toString()]).toEqual([mapsJson, '{"version":3}', 'a\nb\n']);
    expect(decodeEntry(Buffer.from(encodeEntry({ code: 'x', map: '', mapsJson: null })))!.mapsJson).toBeNull();
    expect(decodeEntry(Buffer.from('garbage'))).toBeUndefined();
    expect(decodeEntry(Buffer.from('{"x":1}\n\ncode'))).toBeUndefined();
  });

  it('pack into one file that is read back whole or not at all', () => {
    const a = Buffer.from(encodeEntry({ code: 'a\n', map: '', mapsJson: JSON.stringify(maps('a.ts', '1')) }));
    const b = Buffer.from(encodeEntry({ code: 'b', map: '{}', mapsJson: null }));
    const pack = encodePack(new Map([['ka', a], ['kb', b], ['empty', Buffer.alloc(0)]]));
    const back = decodePack(pack)!;
    expect([...back.keys()]).toEqual(['ka', 'kb', 'empty']);
    expect([back.get('ka')!.equals(a), back.get('kb')!.equals(b), back.get('empty')!.length]).toEqual([true, true, 0]);
    expect(decodePack(pack.subarray(0, pack.length - 1))).toBeUndefined();
    expect(decodePack(Buffer.concat([pack, Buffer.from('\n')]))).toBeUndefined();
    expect(decodePack(Buffer.from('{"format":"lambda-coverage-pack","version":1,"entries":[["k",-1]]}\n'))).toBeUndefined();
    expect(decodePack(Buffer.from('{"format":"other","version":1,"entries":[]}\n'))).toBeUndefined();
    expect(decodePack(Buffer.from('garbage'))).toBeUndefined();
  });

  it('serve a build run again from its pack alone, a large one too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lc-cache-'));
    try {
      // 1000 entries: an index line longer than the first read of the pack.
      const keys = Array.from({ length: 1000 }, (_, i) => `${String(i).padStart(4, '0')}${'k'.repeat(60)}`);
      const value = (k: string) => ({ code: `code of ${k}`, map: '', mapsJson: JSON.stringify(maps(`${k}.ts`, 'h')) });
      const first = new InstrumentCache(dir);
      first.startBuild('b');
      for (const k of keys) await first.set(k, value(k));
      expect(await first.finishBuild(true, undefined)).toBe(true);
      for (const d of readdirSync(dir)) if (d !== 'packs') rmSync(join(dir, d), { recursive: true });
      const again = new InstrumentCache(dir);
      again.startBuild('b');
      expect(again.packNote).toBe('pack of 1000 entries');
      for (const k of keys) expect(Buffer.from(again.get(k)!.code).toString()).toBe(`code of ${k}`);
      expect(again.get('missing')).toBeUndefined();
      // Nothing new used: the pack is not rewritten.
      expect(await again.finishBuild(true, undefined)).toBe(false);
      // A new manifest signature is news.
      again.startBuild('b');
      for (const k of keys) again.get(k);
      expect(await again.finishBuild(true, 'sig')).toBe(true);
      const third = new InstrumentCache(dir);
      third.startBuild('b');
      expect(third.packedManifest).toBe('sig');
      third.close();
      // Another build has its own pack.
      const other = new InstrumentCache(dir);
      other.startBuild('c');
      expect(other.packNote).toBe('no pack yet');
      expect(other.get(keys[0]!)).toBeUndefined();
      other.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
