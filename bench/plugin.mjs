// Plugin benchmark: build time and bundle load time on rxjs's TypeScript sources (node_modules/rxjs/src,
// 251 .ts files; the two entries bundle 227 of them), side by side in one run:
//   plain esbuild | esbuild-plugin-istanbul configured for TS | ours cold (cache cleared) | ours warm
//   (the same build run again: new plugin instance, same output) | ours warm for another build whose
//   entries the cache holds but that has no pack yet (its first run)
//   a whole warm `node build.mjs` process (spawn, imports, one build): plain | ours
//   bundle load (import in a fresh Node 22 process): plain | ours lean | ours full
// Run after `npm run build` (uses dist/). Prints medians and ratios; returns nothing.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import { esbuildPluginIstanbul } from 'esbuild-plugin-istanbul';
import { coverageInstrument } from '../dist/plugin/index.js';

const root = new URL('..', import.meta.url);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const ms = (x) => `${x.toFixed(0)} ms`;
const ratio = (a, b) => `${(a / b).toFixed(2)}x`;

/**
 * Times one build. (Not after a forced gc(): that made every build with a plugin pay ~20 ms more JS
 * time, V8 recompiling what the collection had flushed, and plain esbuild almost nothing.)
 */
async function timed(into, build) {
  const t = performance.now();
  await build();
  into.push(performance.now() - t);
}

/** rxjs/src copied out of node_modules (both tools rightly skip node_modules), with its tsconfig paths. */
function makeCorpus() {
  const dir = mkdtempSync(join(tmpdir(), 'lc-bench-plugin-'));
  cpSync(new URL('node_modules/rxjs/src', root), join(dir, 'src'), { recursive: true });
  cpSync(new URL('node_modules/rxjs/tsconfig.json', root), join(dir, 'tsconfig.json'));
  writeFileSync(join(dir, 'package.json'), '{ "name": "rxjs-bench", "private": true }\n');
  // esbuild-plugin-istanbul runs nyc's transform with nyc's config: TS needs the extension and the
  // typescript parser plugin (by default it returns .ts files uninstrumented, silently).
  const parserPlugins = ['asyncGenerators', 'bigInt', 'classProperties', 'classPrivateProperties', 'classPrivateMethods',
    'dynamicImport', 'importMeta', 'numericSeparator', 'objectRestSpread', 'optionalCatchBinding', 'topLevelAwait', 'typescript'];
  writeFileSync(join(dir, '.nycrc.json'), JSON.stringify({ extension: ['.ts'], 'parser-plugins': parserPlugins, cache: false, all: false }));
  return dir;
}

function buildOptions(dir, outdir, plugins, entryPoints = ['src/index.ts', 'src/operators/index.ts']) {
  return {
    absWorkingDir: dir, entryPoints, bundle: true, format: 'esm', platform: 'node', target: 'node22',
    outdir, outExtension: { '.js': '.mjs' }, logLevel: 'error', plugins,
  };
}

/** The floor of any onLoad plugin: esbuild hands every file to JS and takes the same text back. */
function noopLoadPlugin() {
  return {
    name: 'noop-onload',
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, (args) => ({ contents: readFileSync(args.path), loader: 'ts' }));
    },
  };
}

function peerPlugin() {
  return esbuildPluginIstanbul({ filter: /\.[cm]?ts$/, loader: 'ts', name: 'istanbul-loader-ts' });
}

/** Files that carry Istanbul counters in a bundle: Istanbul's `var path = "…"`, or our lean `__lambdaCoverageLean1("__coverage__", "…"`. */
function instrumentedIn(files) {
  const paths = new Set();
  for (const f of files) for (const m of readFileSync(f, 'utf8').matchAll(/(?:var path = |__lambdaCoverageLean1\("[^"]+", )"([^"]+)"/g)) paths.add(m[1]);
  return paths.size;
}

/** A build in a fresh Node process, as `node build.mjs` runs it: spawn to exit, in ms. */
function processTime(dir, outdir, withPlugin) {
  const plugins = withPlugin ? "[(await import('lambda-coverage/esbuild')).coverageInstrument({ enabled: true, summary: false })]" : '[]';
  const script = `import * as esbuild from 'esbuild'; await esbuild.build({ ...JSON.parse(process.argv[1]), plugins: ${plugins} });`;
  const options = { ...buildOptions(dir, outdir, []), plugins: undefined };
  const t = performance.now();
  execFileSync(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(options)], { cwd: fileURLToPath(root) });
  return performance.now() - t;
}

/**
 * Time to import a bundle in a fresh Node process (module evaluation, not process start): wall time,
 * and the process's CPU time over the same span, which a busy machine disturbs much less.
 */
function loadTime(file) {
  const script = `const t = performance.now(), c = process.cpuUsage(); await import(${JSON.stringify(pathToFileURL(file).href)}); const d = process.cpuUsage(c); process.stdout.write(JSON.stringify([performance.now() - t, (d.user + d.system) / 1000]));`;
  const [wall, cpu] = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }));
  return { wall, cpu };
}

export async function run({ quick = false } = {}) {
  const runs = quick ? 3 : 5;
  const loads = quick ? 5 : 15;
  const dir = makeCorpus();
  const cacheDir = join(dir, 'node_modules/.cache/lambda-coverage');
  const savedCwd = process.env.NYC_CWD;
  process.env.NYC_CWD = dir;
  const times = { plain: [], noop: [], peer: [], cold: [], warm: [], other: [] };
  try {
    console.log(`corpus: rxjs/src (index.ts + operators/index.ts), ${availableParallelism()} cores, ${runs} runs each, interleaved`);
    // Warm-up: load esbuild, Babel and nyc once so no variant pays module loading in its first run.
    await esbuild.build(buildOptions(dir, 'out-warmup', [coverageInstrument({ enabled: true, cache: false, summary: false })]));
    await esbuild.build(buildOptions(dir, 'out-warmup-peer', [peerPlugin()]));
    // The warm runs use the cache the cold run just filled, with a new plugin instance each time: the
    // same build again (what a developer or CI with a restored cache runs), and a build into another
    // directory, whose pack the cleared cache does not have.
    for (let i = 0; i < runs; i++) {
      await timed(times.plain, () => esbuild.build(buildOptions(dir, 'out-plain', [])));
      await timed(times.noop, () => esbuild.build(buildOptions(dir, 'out-noop', [noopLoadPlugin()])));
      await timed(times.peer, () => esbuild.build(buildOptions(dir, 'out-peer', [peerPlugin()])));
      rmSync(cacheDir, { recursive: true, force: true });
      await timed(times.cold, () => esbuild.build(buildOptions(dir, 'out-cold', [coverageInstrument({ enabled: true, summary: false })])));
      await timed(times.warm, () => esbuild.build(buildOptions(dir, 'out-cold', [coverageInstrument({ enabled: true, summary: false })])));
      await timed(times.other, () => esbuild.build(buildOptions(dir, 'out-other', [coverageInstrument({ enabled: true, summary: false })])));
    }
    const bundles = (out) => [join(dir, out, 'index.mjs'), join(dir, out, 'operators/index.mjs')];
    const peerFiles = instrumentedIn(bundles('out-peer'));
    const ourFiles = instrumentedIn(bundles('out-cold'));
    const inputs = (await esbuild.build({ ...buildOptions(dir, 'out-meta', []), metafile: true, write: false })).metafile.inputs;
    const tsInputs = Object.keys(inputs).filter((k) => k.endsWith('.ts')).length;

    const p = median(times.plain);
    console.log('\nbuild (median)                         time      vs plain');
    console.log(`  plain esbuild                      ${ms(p).padStart(8)}      1.00x`);
    console.log(`  esbuild + no-op onLoad plugin      ${ms(median(times.noop)).padStart(8)}  ${ratio(median(times.noop), p).padStart(8)}   (floor of any onLoad plugin)`);
    console.log(`  esbuild-plugin-istanbul (TS)       ${ms(median(times.peer)).padStart(8)}  ${ratio(median(times.peer), p).padStart(8)}   instrumented ${peerFiles}/${tsInputs} files`);
    console.log(`  lambda-coverage cold (no cache)    ${ms(median(times.cold)).padStart(8)}  ${ratio(median(times.cold), p).padStart(8)}   instrumented ${ourFiles}/${tsInputs} files`);
    console.log(`  lambda-coverage warm (cache hot)   ${ms(median(times.warm)).padStart(8)}  ${ratio(median(times.warm), p).padStart(8)}   the same build run again`);
    console.log(`  lambda-coverage warm, no pack      ${ms(median(times.other)).padStart(8)}  ${ratio(median(times.other), p).padStart(8)}   first run of another build on that cache`);
    console.log(`  cold vs esbuild-plugin-istanbul: ${ratio(median(times.cold), median(times.peer))} (target <= 1.00x); warm vs plain: ${ratio(median(times.warm), p)} (target <= 2.00x)`);

    // The same warm build as a user runs it: a fresh `node` process that imports esbuild (and the
    // plugin) and builds once, timed from spawn to exit.
    const whole = { plain: [], warm: [] };
    for (let i = 0; i < runs; i++) {
      whole.plain.push(processTime(dir, 'out-cold', false));
      whole.warm.push(processTime(dir, 'out-cold', true));
    }
    const wp = median(whole.plain);
    console.log(`  whole process, plain / warm        ${ms(wp).padStart(8)} / ${ms(median(whole.warm))}  ${ratio(median(whole.warm), wp)}   node + imports + one build`);

    // Bundle load: one entry, built once per mode.
    const entry = ['src/index.ts'];
    await esbuild.build(buildOptions(dir, 'load-plain', [], entry));
    await esbuild.build(buildOptions(dir, 'load-lean', [coverageInstrument({ enabled: true, summary: false })], entry));
    await esbuild.build(buildOptions(dir, 'load-full', [coverageInstrument({ enabled: true, lean: false, summary: false })], entry));
    const load = { plain: [], lean: [], full: [] };
    const cpu = { plain: [], lean: [], full: [] };
    for (let i = 0; i < loads; i++) {
      for (const k of Object.keys(load)) {
        const t = loadTime(join(dir, `load-${k}`, 'index.mjs'));
        load[k].push(t.wall);
        cpu[k].push(t.cpu);
      }
    }
    const size = (k) => `${(readFileSync(join(dir, `load-${k}`, 'index.mjs')).length / 1024).toFixed(0)} KB`;
    const lp = median(load.plain);
    const cp = median(cpu.plain);
    const row = (label, k, note) =>
      `  ${label.padEnd(20)}${ms(median(load[k])).padStart(8)}  ${ratio(median(load[k]), lp).padStart(8)}  ${ms(median(cpu[k])).padStart(8)}  ${ratio(median(cpu[k]), cp).padStart(8)}   ${size(k)}${note}`;
    console.log(`\nbundle load, import in a fresh Node ${process.version} process (median of ${loads})`);
    console.log('                          wall  vs plain       cpu  vs plain   size');
    console.log(row('plain', 'plain', ''));
    console.log(row('lambda-coverage lean', 'lean', ' (+ manifest beside it)'));
    console.log(row('lambda-coverage full', 'full', ''));
    console.log(`  lean vs plain: ${ratio(median(load.lean), lp)} wall, ${ratio(median(cpu.lean), cp)} cpu (target <= 2.00x)`);
  } finally {
    if (savedCwd === undefined) delete process.env.NYC_CWD;
    else process.env.NYC_CWD = savedCwd;
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await run({ quick: process.argv.includes('--quick') });
}
