// Builds dist/ (JS + .d.ts for every export) with the project's own TypeScript.
// tsc writes into a fresh sibling directory that then replaces dist/ by rename, so a test or tool
// importing from dist/ while a build runs (another terminal, a parallel `npm test`) never finds it
// half-written or gone for the whole compile, and no file of an older build survives.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

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
 * The layer's handler shim, bundled: one module (plus the chunks its lazy imports need) instead of the
 * eight ES modules of dist/runtime that a cold start would resolve, read and link one by one. Written
 * to dist/layer/; the layer zip takes the shim from there (runtime/layer-build.ts).
 */
async function bundleLayerShim(out) {
  const runtimeDir = `${out}/runtime/`;
  await esbuild.build({
    absWorkingDir: fileURLToPath(root),
    entryPoints: { shim: 'layer/shim.mjs' },
    bundle: true, splitting: true, format: 'esm', platform: 'node', target: 'node22',
    outdir: `${out}/layer`, outExtension: { '.js': '.mjs' }, chunkNames: '[name]-[hash]',
    legalComments: 'none', logLevel: 'warning',
    plugins: [{
      name: 'fresh-dist',
      setup(b) {
        // The shim imports ../dist/runtime/…: take those from this build's output, not the old dist/.
        b.onResolve({ filter: /^\.\.\/dist\/runtime\// }, (a) => ({ path: runtimeDir + a.path.slice('../dist/runtime/'.length) }));
      },
    }],
  });
}
