// Builds dist/ (JS + .d.ts for every export) with the project's own TypeScript.
// tsc writes into a fresh sibling directory that then replaces dist/ by rename, so a test or tool
// importing from dist/ while a build runs (another terminal, a parallel `npm test`) never finds it
// half-written or gone for the whole compile, and no file of an older build survives.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const esbuild = await import('esbuild');
const root = new URL('..', import.meta.url);
const dist = new URL('dist', root);
// A sibling of dist/ (same depth), so the source maps' relative paths stay right after the rename.
const fresh = new URL(`.dist-${process.pid}`, root);
const olds = [];

try {
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json', '--outDir', fileURLToPath(fresh)], {
    stdio: 'inherit',
    cwd: root,
  });
  chmodSync(new URL('combiner/cli.js', `${fresh.href}/`), 0o755);
  await bundleSigner(fileURLToPath(fresh));
  await bundleLayerShim(fileURLToPath(fresh));
  // Another build may swap its own dist/ in at the same moment: move whatever is there aside and retry.
  for (let attempt = 1; ; attempt++) {
    if (existsSync(dist)) {
      const old = new URL(`.dist-old-${process.pid}-${attempt}`, root);
      olds.push(old);
      try {
        renameSync(dist, old);
      } catch (e) {
        if (e.code !== 'ENOENT') throw e;
      }
    }
    try {
      renameSync(fresh, dist);
      break;
    } catch (e) {
      if (attempt >= 5 || (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST')) throw e;
    }
  }
} finally {
  rmSync(fresh, { recursive: true, force: true });
  for (const old of olds) rmSync(old, { recursive: true, force: true });
}

/**
 * dist/runtime/sigv4.js re-exports aws4, a CommonJS package in node_modules: it is replaced by one
 * self-contained ES module (~14 KB), so the layer (which ships no node_modules) and an ESM bundle of
 * the runtime both work. aws4's require() of node builtins become process.getBuiltinModule(): left as
 * require(), esbuild's ESM output would throw "Dynamic require is not supported" when the signer loads.
 */
async function bundleSigner(out) {
  const file = `${out}/runtime/sigv4.js`;
  const { version } = require('aws4/package.json');
  await esbuild.build({
    entryPoints: [file], outfile: file, allowOverwrite: true, bundle: true, format: 'esm', platform: 'node', target: 'node22',
    legalComments: 'none', logLevel: 'warning',
    banner: { js: `// Built from runtime/sigv4.ts with aws4 ${version} bundled in (MIT License, Copyright 2013 Michael Hart).` },
    plugins: [{
      name: 'builtins-as-esm',
      setup(b) {
        b.onResolve({ filter: /^(node:)?(crypto|querystring|url)$/ }, (a) => (a.kind === 'require-call' ? { path: a.path.replace(/^node:/, ''), namespace: 'builtin-esm' } : undefined));
        // From the process rather than `export * from 'node:…'`: an ES import of a builtin builds its
        // whole namespace, running its lazy getters (node:crypto's webcrypto), at the first flush.
        b.onLoad({ filter: /.*/, namespace: 'builtin-esm' }, (a) => ({ contents: `module.exports = process.getBuiltinModule('node:${a.path}');`, loader: 'js' }));
      },
    }],
  });
  // tsc's map describes the file before bundling.
  rmSync(`${file}.map`, { force: true });
}

/**
 * The layer's handler shim, bundled: what a cold start runs (the shim, the handler loader, withCoverage,
 * its lifecycle and shape adapters, configuration, log, the extension link) is one module, instead of
 * the dozen ES modules of dist/runtime that it would resolve, read and link one by one. What runs later
 * is whatever the runtime imports dynamically (today the collector with snapshot and S3, and the
 * health report): each such `import('./x.js')` is found while bundling the shim, kept as an import of
 * `./x.mjs`, and bundled apart as x.mjs (sharing chunks), so it is loaded at first use and not even
 * parsed at init. The list is the import graph's, not written here: a new lazy import becomes a lazy
 * file by itself (test/runtime/layer-bundle.test.ts holds dist/layer to that). The few small modules
 * both sides use are in both, which is safe as they keep no state of their own (the runtime's shared
 * state lives under Symbol.for keys on globalThis). Written to dist/layer/; the layer zip takes the
 * files from there (runtime/layer-build.ts).
 */
async function bundleLayerShim(out) {
  const runtimeDir = `${out}/runtime/`;
  const common = {
    absWorkingDir: fileURLToPath(root), bundle: true, format: 'esm', platform: 'node', target: 'node22',
    outdir: `${out}/layer`, outExtension: { '.js': '.mjs' }, legalComments: 'none', logLevel: 'warning',
  };
  /** Entry name (path under dist/runtime without .js) -> the compiled module, for every lazy import. */
  const lazy = new Map();
  await esbuild.build({
    ...common,
    // The shim, and lambda-coverage/runtime for bundles that import it from the layer: two bundles that
    // share the lazy files below (the layer then ships neither dist/runtime nor dist/contract).
    entryPoints: { shim: 'layer/shim.mjs', runtime: `${runtimeDir}index.js` },
    plugins: [{
      name: 'fresh-dist',
      setup(b) {
        // The shim imports ../dist/runtime/…: take those from this build's output, not the old dist/.
        b.onResolve({ filter: /^\.\.\/dist\/runtime\// }, (a) => ({ path: runtimeDir + a.path.slice('../dist/runtime/'.length) }));
        // A dynamic import of one of this build's modules stays lazy: it points at its own bundle,
        // named for its path under dist/runtime, flat (the layer zip takes dist/layer's top level).
        b.onResolve({ filter: /^\.\.?\/.*\.js$/ }, (a) => {
          if (a.kind !== 'dynamic-import' || !a.importer.startsWith(`${out}/`)) return undefined;
          const target = fileURLToPath(new URL(a.path, pathToFileURL(a.importer)));
          const name = relative(runtimeDir, target).slice(0, -'.js'.length).replace(/^(\.\.\/)+/, '').replaceAll('/', '.');
          const seen = lazy.get(name);
          if (seen !== undefined && seen !== target) throw new Error(`lazy modules ${seen} and ${target} would both be dist/layer/${name}.mjs: rename one`);
          lazy.set(name, target);
          return { path: `./${name}.mjs`, external: true };
        });
      },
    }],
  });
  if (lazy.size === 0) return;
  await esbuild.build({
    ...common,
    entryPoints: Object.fromEntries(lazy),
    splitting: true, chunkNames: 'lazy-[hash]',
  });
}
