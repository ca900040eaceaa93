// Builds dist/ (JS + .d.ts for every export) with the project's own TypeScript.
// tsc writes into a fresh sibling directory that then replaces dist/ by rename, so a test or tool
// importing from dist/ while a build runs (another terminal, a parallel `npm test`) never finds it
// half-written or gone for the whole compile, and no file of an older build survives.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
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
