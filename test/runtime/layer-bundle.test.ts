// The layer's bundled shim (dist/layer, made by `npm run build`) against the runtime's own import
// graph: every dynamic import of a runtime module reachable from layer/shim.mjs must be its own lazy
// file, imported by the shim and not inlined into it, and importing the shim must load that one
// module and nothing of the lazy side until an invocation needs it. The graph is read here by esbuild
// from dist/runtime, not from the build's own bookkeeping, so a build that bundles a lazy import into
// the cold-start module fails this test. The layer's unbundled `lambda-coverage/runtime` (for
// functions that import it from the layer) must be whole too, subfolders included.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import * as esbuild from 'esbuild';
import { describe, expect, it } from 'vitest';
import { nodeBinary } from '../../scripts/local/lambda.mjs';
import { writeFixture } from './fixtures.js';
import { layerOpt, tempDir } from './helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DIST_RUNTIME = join(ROOT, 'dist', 'runtime');
const DIST_LAYER = join(ROOT, 'dist', 'layer');

interface LazyImport { importer: string; target: string; file: string }

/** Dynamic imports of the project's own modules in the graph esbuild bundles for the shim. */
async function lazyImports(): Promise<LazyImport[]> {
  const r = await esbuild.build({
    absWorkingDir: ROOT, entryPoints: ['layer/shim.mjs'], bundle: true, write: false, metafile: true,
    format: 'esm', platform: 'node', target: 'node22', logLevel: 'silent', outdir: join(tempDir('meta'), 'out'),
  });
  const found: LazyImport[] = [];
  for (const [importer, input] of Object.entries(r.metafile.inputs)) {
    for (const imp of input.imports) {
      if (imp.kind !== 'dynamic-import' || imp.external || !imp.path.startsWith('dist/')) continue;
      // The file name scripts/build.mjs gives it: its path under dist/runtime, flat.
      const name = relative(DIST_RUNTIME, join(ROOT, imp.path)).replace(/\.js$/, '').replace(/^(\.\.\/)+/, '').replaceAll('/', '.');
      found.push({ importer, target: imp.path, file: `${name}.mjs` });
    }
  }
  return found;
}

describe('the layer bundle keeps lazy imports lazy', () => {
  it('each dynamic import of the runtime is its own file in dist/layer, imported by the shim, not inlined', async () => {
    const lazy = await lazyImports();
    // Today the collector (snapshot, S3) and the health report; more may come, none may go unnoticed.
    expect(lazy.map((l) => l.file)).toEqual(expect.arrayContaining(['collector.mjs', 'health.mjs']));
    // The shim, and lambda-coverage/runtime as the layer ships it (the same runtime, the same lazy files).
    for (const bundle of ['shim.mjs', 'runtime.mjs']) {
      const text = readFileSync(join(DIST_LAYER, bundle), 'utf8');
      for (const l of lazy) {
        expect(existsSync(join(DIST_LAYER, l.file)), `${l.target} (imported by ${l.importer}) has no dist/layer/${l.file}`).toBe(true);
        expect(text, `${bundle} does not import ./${l.file} lazily`).toContain(`import("./${l.file}")`);
        // esbuild names every module it bundles in a `// path` line: the lazy module must not be one.
        const source = l.target.replace(/^dist\//, '');
        expect(text.split('\n').some((line) => line.startsWith('// ') && line.endsWith(source)), `${source} is bundled into ${bundle}`).toBe(false);
      }
    }
  });

  it('importing the shim loads shim.mjs alone; the lazy files load at the first invocation that needs them', async () => {
    const lazy = await lazyImports();
    const task = tempDir('task');
    const fx = writeFixture(task, 'cjs-async');
    const log = join(task, 'loaded.txt');
    // A loader hook writes down every module URL Node loads (off-thread, so appended to a file).
    const hook = join(task, 'hook.mjs');
    writeFileSync(hook, `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) { appendFileSync(${JSON.stringify(log)}, url + '\\n'); return next(url, context); }
`);
    const main = join(task, 'main.mjs');
    writeFileSync(main, `import { register } from 'node:module';
import { appendFileSync } from 'node:fs';
register(${JSON.stringify(pathToFileURL(hook).href)});
const { handler } = await import(${JSON.stringify(pathToFileURL(join(DIST_LAYER, 'shim.mjs')).href)});
appendFileSync(${JSON.stringify(log)}, 'INIT-DONE\\n');
const report = await handler({ lambdaCoverage: 'health' }, { awsRequestId: 'r1', getRemainingTimeInMillis: () => 10000 });
console.log(JSON.stringify(report.coverage_enabled));
`);
    const { stdout } = await promisify(execFile)(nodeBinary(), [main], {
      cwd: task,
      env: {
        PATH: process.env.PATH, HOME: task, LAMBDA_TASK_ROOT: task, COVERAGE_ORIGINAL_HANDLER: fx.handler,
        COVERAGE_ENABLED: '1', COVERAGE_S3_BUCKET: 'cov-bucket', AWS_REGION: 'us-east-1',
      },
    });
    expect(stdout.trim()).toBe('true');
    const lines = readFileSync(log, 'utf8').split('\n');
    const layerFiles = (ls: string[]) => ls.filter((u) => u.startsWith(pathToFileURL(DIST_LAYER).href)).map((u) => u.slice(u.lastIndexOf('/') + 1));
    const cut = lines.indexOf('INIT-DONE');
    expect(layerFiles(lines.slice(0, cut))).toEqual(['shim.mjs']);
    expect(layerFiles(lines.slice(cut))).toEqual(expect.arrayContaining(lazy.map((l) => l.file)));
  });

  it('the layer\'s lambda-coverage/runtime (its package exports: the bundled layer/runtime.mjs) imports and wraps, and the zip ships no unbundled module', async () => {
    const opt = layerOpt();
    const pkg = join(opt, 'nodejs', 'node_modules', 'lambda-coverage');
    const exported = (JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { exports: Record<string, string> }).exports['./runtime']!;
    expect(exported).toBe('./layer/runtime.mjs');
    expect(existsSync(join(pkg, 'dist'))).toBe(false);
    const entry = join(pkg, exported);
    const script = `const { withCoverage } = await import(${JSON.stringify(pathToFileURL(entry).href)});
const h = withCoverage(async () => 1, { enabled: true, bucket: 'cov-bucket' });
console.log(String(await h({}, {})));`;
    const { stdout } = await promisify(execFile)(nodeBinary(), ['--input-type=module', '-e', script], {
      env: { PATH: process.env.PATH, HOME: opt, AWS_REGION: 'us-east-1', COVERAGE_S3_ENDPOINT: 'http://127.0.0.1:9', COVERAGE_UPLOAD_TIMEOUT: '1' },
    });
    expect(stdout.trim().split('\n').at(-1)).toBe('1');
  });
});
