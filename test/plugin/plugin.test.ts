// coverageInstrument() on real esbuild builds of the fixture project, then the bundles run in Node 22.
import { readFileSync, readdirSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { eachMapping, TraceMap } from '@jridgewell/trace-mapping';
import * as esbuild from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePack } from '../../plugin/cache.js';
import { coverageInstrument, instrument, MANIFEST_FILE } from '../../plugin/index.js';
import { checkCountersMatchMaps, countersToArray, parseManifest, type BuildManifest } from '../../contract/format.js';
import { buildOptions, captureStderr, makeProject, readJson, runBundle, sliceRange, type Coverage } from './helpers.js';

let project: { dir: string; cleanup: () => void };
let dir: string;
let leanRun: Awaited<ReturnType<typeof runBundle>>;
let fullRun: Awaited<ReturnType<typeof runBundle>>;
let manifest: BuildManifest;

const src = (rel: string): string => readFileSync(join(dir, rel), 'utf8');
const bundleOf = (outdir: string): string => join(dir, outdir, 'handler.mjs');

async function build(outdir: string, options: Parameters<typeof coverageInstrument>[0], extra: esbuild.BuildOptions = {}) {
  return esbuild.build({ ...buildOptions(dir, outdir, [coverageInstrument({ cache: false, ...options })]), ...extra });
}

beforeAll(async () => {
  project = makeProject();
  dir = project.dir;
  await build('lean', { enabled: true });
  await build('full', { enabled: true, lean: false });
  [leanRun, fullRun] = await Promise.all([runBundle(bundleOf('lean'), 'run'), runBundle(bundleOf('full'), 'run')]);
  manifest = parseManifest(readJson(join(dir, 'lean', MANIFEST_FILE)));
});

afterAll(() => project?.cleanup());

describe('an instrumented build of the fixture project', () => {
  it('behaves as the plain bundle does', async () => {
    await esbuild.build(buildOptions(dir, 'plain', []));
    const plain = await runBundle(bundleOf('plain'), 'run');
    expect(leanRun.result).toEqual(plain.result);
    expect(plain.coverage).toEqual({});
    expect(leanRun.result).toMatchObject({ shout: 'FIXTURE!', legacy: 'hello ada', count: 1, streamed: [0, 1, 2], meta: true, cjs: 42 });
  });

  it('instruments every shape of the project, keyed by cwd-relative paths, and nothing else', () => {
    expect(Object.keys(leanRun.coverage).sort()).toEqual([
      'src/boom.ts', 'src/enums.ts', 'src/generics.ts', 'src/handler.ts', 'src/legacy.cjs',
      'src/legacy/service.ts', 'src/lib/math.ts', 'src/meta.mts', 'src/namespaces.ts', 'src/optional.ts',
      'src/standard-decorators.ts', 'src/stream.ts', 'src/view.tsx',
    ]);
    for (const [key, fc] of Object.entries(leanRun.coverage)) expect(fc.path).toBe(key);
  });

  it('never instruments node_modules, even when include asks for everything', async () => {
    await build('all', { enabled: true, include: ['**'] });
    const text = readFileSync(bundleOf('all'), 'utf8');
    const dep = text.slice(text.indexOf('node_modules/tiny-dep/index.js'));
    expect(dep.slice(0, 300)).toContain('toUpperCase');
    expect(dep.slice(0, 300)).not.toMatch(/cov[_$]/);
    const { coverage } = await runBundle(bundleOf('all'), 'run');
    expect(Object.keys(coverage).some((k) => k.includes('node_modules'))).toBe(false);
    expect(Object.keys(coverage)).toContain('src/handler.ts');
  });

  it('moves the counters of the code that ran', () => {
    const opt = leanRun.coverage['src/optional.ts']!;
    const fnIndex = (name: string) => Object.entries(manifest.files['src/optional.ts']!.fnMap).find(([, f]) => f.name === name)![0];
    expect(opt.f[fnIndex('displayName')]).toBe(2);
    expect(opt.f[fnIndex('portOf')]).toBe(1);
    // `user?.name ?? 'anonymous'`: the left side ran twice, the fallback once.
    const nullish = Object.entries(manifest.files['src/optional.ts']!.branchMap).find(([, b]) => b.line === 6)![0];
    expect(opt.b[nullish]).toEqual([2, 1]);
    const enums = leanRun.coverage['src/enums.ts']!;
    const ifBranch = Object.entries(manifest.files['src/enums.ts']!.branchMap).find(([, b]) => b.type === 'if')![0];
    expect(enums.b[ifBranch]).toEqual([0, 1]);
    // boom() was bundled but not called.
    expect(Object.values(leanRun.coverage['src/boom.ts']!.f)).toEqual([0]);
    const stream = leanRun.coverage['src/stream.ts']!;
    expect(Math.max(...Object.values(stream.s))).toBe(3); // `yield i` three times
  });

  it('maps statements, functions and branches to exactly their text in the original file', () => {
    const stmts = (rel: string) => Object.values(manifest.files[rel]!.statementMap).map((r) => sliceRange(src(rel), r));
    expect(stmts('src/optional.ts')).toEqual([
      "return user?.name ?? 'anonymous';",
      "Number(env.PORT ?? '8080')", // Istanbul counts a declarator by its initializer
      'if (Number.isNaN(port)) {\n    throw new Error(\'bad port\');\n  }',
      'return port;',
    ]);
    expect(stmts('src/view.tsx')).toContain('return <ul>{items.map((i) => <li>{i}</li>)}</ul>;');
    expect(stmts('src/generics.ts')).toEqual(['return new Box(this.items.map(fn));', '<T | undefined>items[0]', 'return value;']);
    expect(stmts('src/legacy/service.ts')).toContain('return `hello ${name}`;');
    expect(stmts('src/standard-decorators.ts')).toContain('this.count++;');
    expect(stmts('src/namespaces.ts')).toContain('return w * h * unit;');
    expect(stmts('src/meta.mts')).toEqual(['return import.meta.url;']);

    const fns = (rel: string) => Object.values(manifest.files[rel]!.fnMap).map((f) => [f.name, sliceRange(src(rel), f.decl)]);
    expect(fns('src/optional.ts')).toEqual([['displayName', 'displayName'], ['portOf', 'portOf']]);
    expect(fns('src/stream.ts')).toEqual([['numbers', 'numbers'], ['collect', 'collect']]);
    expect(fns('src/generics.ts').map(([n]) => n)).toEqual(['(anonymous_0)', '(anonymous_1)', 'firstOf']);

    const branches = (rel: string) => Object.values(manifest.files[rel]!.branchMap).map((b) => [b.type, b.locations.map((l) => sliceRange(src(rel), l))]);
    expect(branches('src/optional.ts')[0]).toEqual(['binary-expr', ['user?.name', "'anonymous'"]]);
    expect(branches('src/optional.ts')[1]).toEqual(['binary-expr', ['env.PORT', "'8080'"]]);
    expect(branches('src/lib/math.ts')).toEqual([
      ['cond-expr', ['min', 'value > max ? max : value']],
      ['cond-expr', ['max', 'value']],
    ]);
  });

  it('honours istanbul ignore hints', () => {
    const opt = manifest.files['src/optional.ts']!;
    expect(Object.values(opt.fnMap).map((f) => f.name)).not.toContain('neverCounted');
    expect(Object.values(opt.statementMap).map((r) => sliceRange(src('src/optional.ts'), r))).not.toContain("throw new Error('bad port');");
  });

  it('hands esbuild the comments it acts on and leaves the others out', async () => {
    const code = [
      '/*! legal notice */',
      '/** Doubles. @param x a number */',
      'export const f = (x: number) => /* @__PURE__ */ g(x); // a note',
      'function g(x: number) { return x * 2; }',
      'export const h = () => /* #__NO_SIDE_EFFECTS__ */ g(1);',
      '/** @jsx h */',
    ].join('\n');
    const { contents } = await instrument(code, join(dir, 'src/comments.ts'), { cwd: dir });
    for (const kept of ['/*! legal notice */', '/* @__PURE__ */', '/* #__NO_SIDE_EFFECTS__ */', '/** @jsx h */']) expect(contents).toContain(kept);
    for (const dropped of ['Doubles', 'a note']) expect(contents).not.toContain(dropped);
  });

  it('maps an error thrown in the bundle back to the original .ts line through esbuild\'s source map', async () => {
    const { stderr } = await runBundle(bundleOf('lean'), 'fail');
    const boomLine = src('src/boom.ts').split('\n').findIndex((l) => l.includes('throw new Error(message)')) + 1;
    const failLine = src('src/handler.ts').split('\n').findIndex((l) => l.includes("return boom('from the fixture')")) + 1;
    expect(stderr).toContain('Error: boom: from the fixture');
    expect(stderr).toMatch(new RegExp(`src/boom\\.ts:${boomLine}:\\d+`));
    expect(stderr).toMatch(new RegExp(`src/handler\\.ts:${failLine}:\\d+`));
    // esbuild's map names the original files and carries their original text, not the instrumented one.
    const map = readJson(join(dir, 'lean', 'handler.mjs.map')) as { sources: string[]; sourcesContent: string[] };
    const i = map.sources.indexOf('../src/boom.ts');
    expect(i).toBeGreaterThanOrEqual(0);
    expect(map.sourcesContent[i]).toBe(src('src/boom.ts'));
  });
});

describe('esbuild\'s source map of the instrumented bundle', () => {
  it('lands every mapping of the original files on the same token, also after rewritten increments', () => {
    const map = new TraceMap(readFileSync(join(dir, 'lean', 'handler.mjs.map'), 'utf8'));
    const bundle = readFileSync(bundleOf('lean'), 'utf8').split('\n');
    const token = (text: string) => /^(?:[A-Za-z_$][\w$]*|\d+|"[^"]*"|'[^']*')/.exec(text)?.[0]?.replaceAll("'", '"');
    // Files esbuild prints token for token (no enum inlining, class lowering or renaming).
    const files = ['src/optional.ts', 'src/lib/math.ts', 'src/stream.ts', 'src/boom.ts'];
    const lines = Object.fromEntries(files.map((f) => [`../${f}`, src(f).split('\n')]));
    const mismatches: string[] = [];
    let checked = 0;
    eachMapping(map, (m) => {
      const original = m.source ? lines[m.source] : undefined;
      if (!original || m.originalLine === null) return;
      const line = bundle[m.generatedLine - 1]!;
      const generated = token(line.slice(m.generatedColumn));
      const expected = token(original[m.originalLine - 1]!.slice(m.originalColumn));
      // Counter bumps map to the expression they count (as in Babel's own output): not a token of it.
      // (The coverage function is `cov$`, renamed `cov$2`, `cov$3`… by esbuild across files.)
      const inIncrement = /cov\$\d*\([\d, ]*$/.test(line.slice(0, m.generatedColumn));
      // esbuild maps `export function` to where it prints `function` / `async function`.
      if (!generated || !expected || generated.startsWith('cov$') || inIncrement || expected === 'export') return;
      checked++;
      if (generated !== expected) mismatches.push(`${m.source}:${m.originalLine}:${m.originalColumn} ${expected} -> ${generated}`);
    });
    expect(checked).toBeGreaterThan(50);
    expect(mismatches).toEqual([]);
  });
});

describe('lean and full bundles', () => {
  it('lean registers counters only, full the classic Istanbul objects', () => {
    const lean = leanRun.coverage['src/enums.ts']!;
    const full = fullRun.coverage['src/enums.ts']!;
    expect(Object.keys(lean).sort()).toEqual(['b', 'f', 'hash', 'path', 's']);
    expect(full).toHaveProperty('statementMap');
    expect(full).toHaveProperty('_coverageSchema');
    // coverageGlobalScope 'globalThis' without coverageGlobalScopeFunc: no Function('return this').
    for (const mode of ['lean', 'full']) {
      const text = readFileSync(bundleOf(mode), 'utf8');
      expect(text).toContain('globalThis');
      expect(text).not.toMatch(/\bFunction\s*\(/);
    }
  });

  it('count the same and carry the same hashes and maps', () => {
    const pick = (c: Coverage) => Object.fromEntries(Object.entries(c).map(([k, v]) => [k, { path: v.path, hash: v.hash, s: v.s, f: v.f, b: v.b }]));
    expect(pick(leanRun.coverage)).toEqual(pick(fullRun.coverage));
    const fullManifest = parseManifest(readJson(join(dir, 'full', MANIFEST_FILE)));
    expect(fullManifest.files).toEqual(manifest.files);
    for (const [key, fc] of Object.entries(fullRun.coverage)) {
      expect(fc.statementMap).toEqual(manifest.files[key]!.statementMap);
      expect(fc.branchMap).toEqual(manifest.files[key]!.branchMap);
    }
  });

  it('without esbuild source maps, skip the inline map and count the same', async () => {
    await build('no-map', { enabled: true }, { sourcemap: false });
    expect(readFileSync(bundleOf('no-map'), 'utf8')).not.toContain('sourceMappingURL');
    const { coverage } = await runBundle(bundleOf('no-map'), 'run');
    expect(coverage).toEqual(leanRun.coverage);
  });

  it('write a manifest that validates and matches the counters', () => {
    expect(manifest.generator).toMatch(/^lambda-coverage@\d+\.\d+\.\d+ istanbul-lib-instrument@6\.\S+ @babel\/core@7\./);
    expect(Object.keys(manifest.files).sort()).toEqual(Object.keys(leanRun.coverage).sort());
    for (const [key, fc] of Object.entries(leanRun.coverage)) {
      const counters = { hash: fc.hash!, s: countersToArray(fc.s), f: countersToArray(fc.f), b: countersToArray(fc.b) };
      expect(() => checkCountersMatchMaps(counters, manifest.files[key]!, key)).not.toThrow();
    }
  });
});

describe('when not enabled', () => {
  it('registers nothing: the output is byte-identical to a build without the plugin', async () => {
    const saved = process.env.COVERAGE_ENABLED;
    try {
      delete process.env.COVERAGE_ENABLED;
      await esbuild.build(buildOptions(dir, 'off-a', []));
      await esbuild.build(buildOptions(dir, 'off-b', [coverageInstrument()]));
      process.env.COVERAGE_ENABLED = '1';
      await esbuild.build(buildOptions(dir, 'off-c', [coverageInstrument({ enabled: false })]));
      await esbuild.build(buildOptions(dir, 'on-d', [coverageInstrument({ cache: false })]));
    } finally {
      if (saved === undefined) delete process.env.COVERAGE_ENABLED;
      else process.env.COVERAGE_ENABLED = saved;
    }
    for (const f of ['handler.mjs', 'handler.mjs.map']) {
      const a = readFileSync(join(dir, 'off-a', f));
      expect(readFileSync(join(dir, 'off-b', f)).equals(a)).toBe(true);
      expect(readFileSync(join(dir, 'off-c', f)).equals(a)).toBe(true);
    }
    expect(readdirSync(join(dir, 'off-b'))).toEqual(['handler.mjs', 'handler.mjs.map']);
    // COVERAGE_ENABLED=1 turns it on when the option is not given.
    expect(readFileSync(join(dir, 'on-d', 'handler.mjs'), 'utf8')).toContain('__coverage__');
  });
});

describe('when not enabled, setup()', () => {
  it('calls none of esbuild\'s on* registrations and changes no build option', async () => {
    const calls: string[] = [];
    const initialOptions: esbuild.BuildOptions = { absWorkingDir: dir, outdir: 'x' };
    const build = new Proxy({ initialOptions } as unknown as esbuild.PluginBuild, {
      get(target, prop) {
        if (prop === 'initialOptions') return target.initialOptions;
        return () => calls.push(String(prop));
      },
    });
    const saved = process.env.COVERAGE_ENABLED;
    delete process.env.COVERAGE_ENABLED;
    try {
      await coverageInstrument().setup(build);
      await coverageInstrument({ enabled: false }).setup(build);
    } finally {
      if (saved !== undefined) process.env.COVERAGE_ENABLED = saved;
    }
    expect(calls).toEqual([]);
    expect(initialOptions).toEqual({ absWorkingDir: dir, outdir: 'x' });
    // The same probe sees the enabled plugin register its callbacks.
    await coverageInstrument({ enabled: true, cache: false }).setup(build);
    expect(calls).toEqual(expect.arrayContaining(['onLoad', 'onEnd']));
  });
});

describe('errors and warnings', () => {
  it('reports a syntax error as an esbuild error with file, line and column', async () => {
    writeFileSync(join(dir, 'src/broken.ts'), 'export const ok = 1;\n\nexport function bad( {\n  return 2;\n}\n');
    const failed = await esbuild
      .build({ ...buildOptions(dir, 'broken', [coverageInstrument({ enabled: true, cache: false })]), entryPoints: ['src/broken.ts'] })
      .then(() => undefined, (e: esbuild.BuildFailure) => e);
    expect(failed?.errors).toHaveLength(1);
    const [err] = failed!.errors;
    expect(err!.pluginName).toBe('lambda-coverage');
    expect(err!.text).toContain('could not parse src/broken.ts');
    expect(err!.location).toMatchObject({ file: 'src/broken.ts', line: 4, lineText: '  return 2;' });
    expect(err!.location!.column).toBeGreaterThan(0);
  });

  it('fails on a file Babel cannot parse though esbuild can, or with onFailure "warn" bundles it uncounted and says so', async () => {
    writeFileSync(join(dir, 'src/asserted.ts'), "import config from './config.json' assert { type: 'json' };\nexport function run() {\n  return config.name;\n}\n");
    const entry = { entryPoints: ['src/asserted.ts'] };
    const failed = await esbuild
      .build({ ...buildOptions(dir, 'asserted', [coverageInstrument({ enabled: true, cache: false })]), ...entry })
      .then(() => undefined, (e: esbuild.BuildFailure) => e);
    expect(failed?.errors[0]?.text).toMatch(/could not parse src\/asserted\.ts: .*deprecatedImportAssert/);
    expect(failed?.errors[0]?.location).toMatchObject({ file: 'src/asserted.ts', line: 1, column: 35 });

    const { lines, restore } = captureStderr();
    let result: esbuild.BuildResult;
    try {
      result = await esbuild.build({ ...buildOptions(dir, 'asserted', [coverageInstrument({ enabled: true, cache: false, onFailure: 'warn' })]), ...entry, logLevel: undefined });
    } finally {
      restore();
    }
    expect(result.warnings.map((w) => w.text)).toContainEqual(expect.stringMatching(/could not parse src\/asserted\.ts.*\(bundled WITHOUT coverage\)/));
    expect(lines.find((l) => l.startsWith('lambda-coverage: '))).toMatch(/instrumented 0 files \(0 from cache, 1 FAILED/);
    const { result: ran, coverage } = await runBundle(join(dir, 'asserted', 'asserted.mjs'), 'run');
    expect(ran).toBe('fixture');
    expect(coverage).toEqual({});
  });

  it('warns, naming the globs, when include matches nothing', async () => {
    const result = await build('nothing', { enabled: true, include: ['lib/**/*.ts', 'nope/**'] });
    expect(result.warnings.map((w) => w.text).join('\n')).toMatch(/include \["lib\/\*\*\/\*\.ts","nope\/\*\*"\] matched none/);
    expect(readFileSync(bundleOf('nothing'), 'utf8')).not.toContain('__coverage__');
  });

  it('rejects unknown and malformed options where the plugin is created', () => {
    expect(() => coverageInstrument({ lean: 'yes' } as never)).toThrow(/option "lean" must be a boolean/);
    expect(() => coverageInstrument({ includes: ['x'] } as never)).toThrow(/unknown option "includes"/);
  });
});

describe('include and exclude', () => {
  it('instruments only what include selects, minus exclude', async () => {
    await build('subset', { enabled: true, include: ['src/**'], exclude: ['src/legacy/**', 'src/view.tsx'] });
    const { coverage } = await runBundle(bundleOf('subset'), 'run');
    const keys = Object.keys(coverage);
    expect(keys).toContain('src/optional.ts');
    expect(keys).not.toContain('src/view.tsx');
    expect(keys.some((k) => k.startsWith('src/legacy/'))).toBe(false);
    expect(keys).toContain('src/legacy.cjs');
  });

  it('makes keys relative to the cwd option', async () => {
    await build('cwd', { enabled: true, cwd: join(dir, 'src') });
    const { coverage } = await runBundle(bundleOf('cwd'), 'run');
    expect(Object.keys(coverage)).toContain('lib/math.ts');
  });
});

describe('the content-hash cache', () => {
  it('gives the same bundle, coverage and manifest on a hit as on a miss, and reports the hits', async () => {
    const cache = join(dir, 'node_modules/.cache/lambda-coverage');
    const { lines, restore } = captureStderr();
    try {
      const opts = buildOptions(dir, 'miss', [coverageInstrument({ enabled: true })]);
      await esbuild.build({ ...opts, logLevel: undefined });
      await esbuild.build({ ...opts, outdir: 'hits', logLevel: undefined });
    } finally {
      restore();
    }
    const summaries = lines.filter((l) => l.startsWith('lambda-coverage: '));
    expect(summaries[0]).toMatch(/instrumented 13 files \(0 from cache, 0 failed\)/);
    expect(summaries[1]).toMatch(/instrumented 13 files \(13 from cache, 0 failed\)/);
    expect(existsSync(cache)).toBe(true);
    expect(readFileSync(bundleOf('hits')).equals(readFileSync(bundleOf('miss')))).toBe(true);
    expect(readFileSync(bundleOf('miss')).equals(readFileSync(bundleOf('lean')))).toBe(true);
    const m1 = parseManifest(readJson(join(dir, 'miss', MANIFEST_FILE)));
    const m2 = parseManifest(readJson(join(dir, 'hits', MANIFEST_FILE)));
    expect(m2.files).toEqual(m1.files);
    const [a, b] = await Promise.all([runBundle(bundleOf('miss'), 'run'), runBundle(bundleOf('hits'), 'run')]);
    expect(b.coverage).toEqual(a.coverage);
  });

  it('hits from another checkout directory of the same project (a CI cache restore)', async () => {
    const other = makeProject();
    const { lines, restore } = captureStderr();
    try {
      const cache = join(dir, 'node_modules/.cache/lambda-coverage');
      await esbuild.build({ ...buildOptions(other.dir, 'out', [coverageInstrument({ enabled: true, cache })]), logLevel: undefined });
    } finally {
      restore();
    }
    try {
      expect(lines.find((l) => l.startsWith('lambda-coverage: '))).toMatch(/instrumented 13 files \(13 from cache, 0 failed\)/);
      const m = parseManifest(readJson(join(other.dir, 'out', MANIFEST_FILE)));
      expect(m.files).toEqual(parseManifest(readJson(join(dir, 'miss', MANIFEST_FILE))).files);
    } finally {
      other.cleanup();
    }
  });

  it('misses when the file text changes', async () => {
    const { lines, restore } = captureStderr();
    const file = join(dir, 'src/lib/math.ts');
    const before = readFileSync(file, 'utf8');
    try {
      writeFileSync(file, `${before}\nexport const added = 1;\n`);
      await esbuild.build({ ...buildOptions(dir, 'changed', [coverageInstrument({ enabled: true })]), logLevel: undefined });
    } finally {
      writeFileSync(file, before);
      restore();
    }
    expect(lines.find((l) => l.startsWith('lambda-coverage: '))).toMatch(/instrumented 13 files \(12 from cache/);
  });
});

describe('the cache pack', () => {
  const hits = (lines: string[]) => lines.filter((l) => l.startsWith('lambda-coverage: ')).map((l) => /\((\d+) from cache/.exec(l)?.[1]);
  /** Builds into `outdir` with the cache in `cache`, a new plugin instance each time; returns the hit counts. */
  /** What the last builds' LAMBDA_COVERAGE_DEBUG lines said of the manifest. */
  let manifestNotes: (string | undefined)[] = [];
  async function runs(cache: string, outdir: string, n: number, between: () => void = () => undefined): Promise<(string | undefined)[]> {
    const { lines, restore } = captureStderr();
    process.env.LAMBDA_COVERAGE_DEBUG = '1';
    try {
      for (let i = 0; i < n; i++) {
        if (i > 0) between();
        await esbuild.build({ ...buildOptions(dir, outdir, [coverageInstrument({ enabled: true, cache })]), logLevel: undefined });
      }
    } finally {
      delete process.env.LAMBDA_COVERAGE_DEBUG;
      restore();
    }
    manifestNotes = lines.filter((l) => l.includes('onLoad total')).map((l) => /manifest \d+ms \(([^)]*)\)/.exec(l)?.[1]);
    return hits(lines);
  }
  /** A pack's entries, in any order. */
  const packed = (bytes: Buffer) => Object.fromEntries([...decodePack(bytes)!].map(([k, v]) => [k, v.toString('latin1')]));
  const packsIn = (cache: string) => readdirSync(join(cache, 'packs')).map((f) => join(cache, 'packs', f));
  /** Every entry file gone: only the pack can give hits. */
  const dropEntries = (cache: string) => {
    for (const d of readdirSync(cache)) if (d !== 'packs') rmSync(join(cache, d), { recursive: true });
  };

  it('serves a build run again from one file, with the same bundle and manifest as a miss', async () => {
    const cache = join(dir, 'pack-cache');
    expect(await runs(cache, 'packed', 2, () => dropEntries(cache))).toEqual(['0', '13']);
    expect(packsIn(cache)).toHaveLength(1);
    expect(readFileSync(bundleOf('packed')).equals(readFileSync(bundleOf('lean')))).toBe(true);
    expect(parseManifest(readJson(join(dir, 'packed', MANIFEST_FILE))).files).toEqual(manifest.files);
  });

  it('ignores a pack that does not check out, whole, and writes a good one', async () => {
    const cache = join(dir, 'bad-pack-cache');
    await runs(cache, 'bad-pack', 1);
    const [pack] = packsIn(cache);
    const good = readFileSync(pack!);
    const damaged = [
      good.subarray(0, good.length - 1), // cut short
      Buffer.concat([good, Buffer.from('x')]), // longer than its index says
      Buffer.from(good.toString('latin1').replace('"version":1', '"version":9'), 'latin1'),
      Buffer.from('not a pack'),
    ];
    for (const bytes of damaged) {
      writeFileSync(pack!, bytes);
      dropEntries(cache);
      // Nothing to trust: every file instrumented again, the same output, the pack whole again.
      expect(await runs(cache, 'bad-pack', 1)).toEqual(['0']);
      expect(readFileSync(bundleOf('bad-pack')).equals(readFileSync(bundleOf('lean')))).toBe(true);
      expect(packed(readFileSync(pack!))).toEqual(packed(good));
    }
    // With the entry files still there, a damaged pack costs nothing but speed.
    writeFileSync(pack!, good.subarray(0, 100));
    expect(await runs(cache, 'bad-pack', 1)).toEqual(['13']);
  });

  it('lets a build that changed nothing leave the manifest unread, and repairs one changed since', async () => {
    const cache = join(dir, 'signed-pack-cache');
    const file = join(dir, 'signed', MANIFEST_FILE);
    const files = () => parseManifest(readJson(file)).files;
    await runs(cache, 'signed', 2);
    expect(manifestNotes).toEqual(['written', 'unchanged since the last build, not read']);
    const { mtimeMs, ino } = statSync(file);
    await runs(cache, 'signed', 1);
    expect([statSync(file).mtimeMs, statSync(file).ino]).toEqual([mtimeMs, ino]);
    expect(files()).toEqual(manifest.files);
    // Edited in place, same length: the next build sees it changed and writes it right.
    const text = readFileSync(file, 'utf8');
    const at = text.indexOf('"hash":"') + 8;
    writeFileSync(file, `${text.slice(0, at)}${text[at] === '0' ? '1' : '0'}${text.slice(at + 1)}`);
    expect(files()).not.toEqual(manifest.files);
    await runs(cache, 'signed', 2);
    expect(manifestNotes).toEqual(['written', 'unchanged since the last build, not read']);
    expect(files()).toEqual(manifest.files);
    rmSync(file);
    await runs(cache, 'signed', 1);
    expect(manifestNotes).toEqual(['written']);
    expect(files()).toEqual(manifest.files);
    // Another entry point built into the same directory: its file is kept by the next build.
    writeFileSync(join(dir, 'src/extra.ts'), 'export const extra = (n: number) => n + 1;\n');
    try {
      await esbuild.build({ ...buildOptions(dir, 'signed', [coverageInstrument({ enabled: true, cache, summary: false })]), entryPoints: ['src/extra.ts'] });
      await runs(cache, 'signed', 2);
      expect(manifestNotes).toEqual(['unchanged, not rewritten', 'unchanged, not rewritten']);
      expect(Object.keys(files()).sort()).toEqual([...Object.keys(manifest.files), 'src/extra.ts'].sort());
    } finally {
      rmSync(join(dir, 'src/extra.ts'));
    }
  });

  it('is not corrupted by builds that share it at the same time', async () => {
    const cache = join(dir, 'shared-pack-cache');
    const one = () => esbuild.build(buildOptions(dir, 'pack-race', [coverageInstrument({ enabled: true, cache, summary: false })]));
    await Promise.all([one(), one(), one()]);
    expect(readdirSync(join(cache, 'packs')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(await runs(cache, 'pack-race', 1)).toEqual(['13']);
    expect(readFileSync(bundleOf('pack-race')).equals(readFileSync(bundleOf('lean')))).toBe(true);
  });
});

describe('rebuilds of one esbuild context (watch mode)', () => {
  it('count hits from the cache, re-instrument only the changed file and keep the manifest in step', async () => {
    const { lines, restore } = captureStderr();
    const file = join(dir, 'src/lib/math.ts');
    const before = readFileSync(file, 'utf8');
    const cache = join(dir, 'rebuild-cache');
    const ctx = await esbuild.context({ ...buildOptions(dir, 'rebuilt', [coverageInstrument({ enabled: true, cache })]), logLevel: undefined });
    try {
      await ctx.rebuild();
      const first = readFileSync(bundleOf('rebuilt'));
      await ctx.rebuild();
      expect(readFileSync(bundleOf('rebuilt')).equals(first)).toBe(true);
      writeFileSync(file, `${before}\nexport const added = 1;\n`);
      await ctx.rebuild();
    } finally {
      await ctx.dispose();
      writeFileSync(file, before);
      restore();
    }
    const summaries = lines.filter((l) => l.startsWith('lambda-coverage: '));
    expect(summaries).toHaveLength(3);
    expect(summaries[0]).toMatch(/instrumented 13 files \(0 from cache, 0 failed\)/);
    expect(summaries[1]).toMatch(/instrumented 13 files \(13 from cache, 0 failed\)/);
    expect(summaries[2]).toMatch(/instrumented 13 files \(12 from cache, 0 failed\)/);
    const m = parseManifest(readJson(join(dir, 'rebuilt', MANIFEST_FILE)));
    expect(Object.keys(m.files).sort()).toEqual(Object.keys(manifest.files).sort());
    const { coverage } = await runBundle(bundleOf('rebuilt'), 'run');
    expect(coverage['src/lib/math.ts']!.hash).toBe(m.files['src/lib/math.ts']!.hash);
    expect(m.files['src/lib/math.ts']!.hash).not.toBe(manifest.files['src/lib/math.ts']!.hash);
    expect(coverage['src/optional.ts']).toEqual(leanRun.coverage['src/optional.ts']);
  });
});

describe('coexisting with other plugins', () => {
  it('instrument() called from another plugin\'s onLoad counts, and its maps reach the manifest', async () => {
    const other: esbuild.Plugin = {
      name: 'other-loader',
      setup(b) {
        b.onLoad({ filter: /math\.ts$/ }, async (args) => {
          // A legal comment: esbuild keeps it (at the end of the file), and so does instrument().
          const text = readFileSync(args.path, 'utf8').replace('value < min', '/*! touched */ value < min');
          const out = await instrument(text, args.path, { cwd: dir });
          return { contents: out.contents, loader: out.loader };
        });
      },
    };
    await esbuild.build(buildOptions(dir, 'chained', [other, coverageInstrument({ enabled: true, cache: false })]));
    expect(readFileSync(bundleOf('chained'), 'utf8')).toContain('/*! touched */');
    const m = parseManifest(readJson(join(dir, 'chained', MANIFEST_FILE)));
    expect(Object.keys(m.files)).toContain('src/lib/math.ts');
    const { coverage } = await runBundle(bundleOf('chained'), 'run');
    expect(coverage['src/lib/math.ts']!.hash).toBe(m.files['src/lib/math.ts']!.hash);
    expect(Object.values(coverage['src/lib/math.ts']!.f)).toEqual([1]);
  });

  it('turns on the metafile only when another plugin is in the build (only then can a file be chained)', async () => {
    const alone = await esbuild.build({ ...buildOptions(dir, 'alone', [coverageInstrument({ enabled: true })]), write: false });
    expect(alone.metafile).toBeUndefined();
    const idle: esbuild.Plugin = { name: 'idle', setup() {} };
    const withOther = await esbuild.build({ ...buildOptions(dir, 'with-other', [idle, coverageInstrument({ enabled: true })]), write: false });
    expect(Object.keys(withOther.metafile?.inputs ?? {})).toContain('src/lib/math.ts');
  });

  it('lean files need the helper coverageInstrument() puts in the banner, and fail naming it when it is missing', async () => {
    const other: esbuild.Plugin = {
      name: 'other-loader',
      setup(b) {
        b.onLoad({ filter: /math\.ts$/ }, async (args) => {
          const out = await instrument(readFileSync(args.path, 'utf8'), args.path, { cwd: dir });
          return { contents: out.contents, loader: out.loader };
        });
      },
    };
    await esbuild.build({ ...buildOptions(dir, 'no-helper', [other]), banner: { js: '// my banner' } });
    const failed = await runBundle(bundleOf('no-helper'), 'run').then(() => undefined, (e: Error) => e);
    expect(failed?.message).toContain('globalThis.__lambdaCoverageLean1 is not a function');
    // With the plugin, the user's own banner is kept after the helper.
    await esbuild.build({ ...buildOptions(dir, 'with-helper', [other, coverageInstrument({ enabled: true, cache: false })]), banner: { js: '// my banner' } });
    const text = readFileSync(bundleOf('with-helper'), 'utf8');
    expect(text.startsWith('globalThis.__lambdaCoverageLean1||')).toBe(true);
    expect(text.split('\n')[1]).toBe('// my banner');
  });

  it('two builds into one directory share one manifest', async () => {
    const one = (entry: string) =>
      esbuild.build({ ...buildOptions(dir, 'shared', [coverageInstrument({ enabled: true, cache: false })]), entryPoints: [entry] });
    await Promise.all([one('src/lib/math.ts'), one('src/boom.ts')]);
    const m = parseManifest(readJson(join(dir, 'shared', MANIFEST_FILE)));
    expect(Object.keys(m.files)).toEqual(['src/boom.ts', 'src/lib/math.ts']);
  });

  it('with write: false, the manifest is one more output file', async () => {
    const result = await esbuild.build({ ...buildOptions(dir, 'memory', [coverageInstrument({ enabled: true, cache: false })]), write: false });
    const out = result.outputFiles.find((f) => f.path.endsWith(MANIFEST_FILE));
    expect(out?.path).toBe(join(dir, 'memory', MANIFEST_FILE));
    expect(Object.keys(parseManifest(JSON.parse(out!.text)).files)).toHaveLength(13);
    expect(existsSync(join(dir, 'memory'))).toBe(false);
  });
});
