// Builds dist/ (JS + .d.ts for every export) with the project's own TypeScript.
import { execFileSync } from 'node:child_process';
import { chmodSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'], {
  stdio: 'inherit',
  cwd: new URL('..', import.meta.url),
});
chmodSync(new URL('../dist/combiner/cli.js', import.meta.url), 0o755);
