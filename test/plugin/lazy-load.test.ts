// Babel and istanbul-lib-instrument (~0.4 s to import) load only when a file must be instrumented.
// Each step runs in a fresh Node process on the compiled package (dist/, built by `npm test`'s
// pretest), imported by name as a user would.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProject } from './helpers.js';

const execFileAsync = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
let project: { dir: string; cleanup: () => void };

/** Builds the fixture in a fresh process with these plugin options; says whether Babel got loaded. */
async function buildLoadsBabel(options: object, outdir: string): Promise<{ imported: boolean; built: boolean }> {
  const script = `
    import { createRequire } from 'node:module';
    import * as esbuild from 'esbuild';
    const babel = () => Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('/@babel/core/lib/'));
    const { coverageInstrument } = await import('lambda-coverage/esbuild');
    const imported = babel();
    await esbuild.build({
      absWorkingDir: process.argv[1], entryPoints: ['src/handler.ts'], bundle: true, format: 'esm', platform: 'node',
      outdir: process.argv[2], logLevel: 'silent', plugins: [coverageInstrument(JSON.parse(process.argv[3]))],
    });
    process.stdout.write(JSON.stringify({ imported, built: babel() }));
  `;
  const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', script, project.dir, outdir, JSON.stringify(options)], { cwd: root });
  return JSON.parse(stdout) as { imported: boolean; built: boolean };
}

beforeAll(() => {
  if (!existsSync(join(root, 'dist/plugin/index.js'))) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
  project = makeProject();
});
afterAll(() => project?.cleanup());

describe('loading Babel', () => {
  it('happens on a cache miss only: not on import, not with coverage off, not on a warm build', async () => {
    const cache = join(project.dir, 'lazy-cache');
    expect(await buildLoadsBabel({ enabled: false }, 'off')).toEqual({ imported: false, built: false });
    expect(await buildLoadsBabel({ enabled: true, cache, workers: 0 }, 'cold')).toEqual({ imported: false, built: true });
    expect(await buildLoadsBabel({ enabled: true, cache, workers: 0 }, 'cold')).toEqual({ imported: false, built: false });
  });
});
