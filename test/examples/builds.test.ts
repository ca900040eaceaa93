import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'lc-examples-'));

/** Each example depends on "lambda-coverage" as users install it: link this checkout in as that package. */
function linkPackage(example: string): string {
  const dir = join(root, 'examples', example);
  const link = join(dir, 'node_modules', 'lambda-coverage');
  if (!existsSync(link)) {
    mkdirSync(join(dir, 'node_modules'), { recursive: true });
    try { symlinkSync(root, link, 'dir'); } catch (err) { if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err; }
  }
  return dir;
}

const run = (cmd: string, args: string[], cwd: string, env: Record<string, string> = {}) =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: 'pipe', env: { ...process.env, ...env } });

beforeAll(() => { for (const e of ['esbuild', 'sam', 'serverless']) linkPackage(e); });
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  rmSync(join(root, 'examples/esbuild/dist'), { recursive: true, force: true });
});

describe('examples build as users run them', () => {
  it('esbuild: the test-stage build is instrumented and counts; the production build is not', async () => {
    const dir = join(root, 'examples/esbuild');
    run(process.execPath, ['build.mjs'], dir, { COVERAGE_ENABLED: '0' });
    expect(readFileSync(join(dir, 'dist/handler/index.mjs'), 'utf8')).not.toContain('__coverage__');
    run(process.execPath, ['build.mjs'], dir, { COVERAGE_ENABLED: '1' });
    expect(existsSync(join(dir, 'dist/handler/lambda-coverage-manifest.json'))).toBe(true);
    const mod = await import(`${pathToFileURL(join(dir, 'dist/handler/index.mjs')).href}?t=${Date.now()}`);
    const res = await mod.handler({ queryStringParameters: { name: 'sam' } });
    expect(res).toEqual({ statusCode: 200, body: 'hello sam' });
    const cov = (globalThis as any).__coverage__['src/handler.ts'];
    expect(Object.values<number>(cov.f)).toEqual([1]);
  });

  it('sam: the Makefile target builds an instrumented function; the combiner entry loads', async () => {
    const dir = join(root, 'examples/sam');
    const api = join(work, 'sam-api');
    run('make', ['build-ApiFunction', `ARTIFACTS_DIR=${api}`], dir, { COVERAGE_ENABLED: '1' });
    await import(pathToFileURL(join(api, 'index.mjs')).href);
    expect(Object.keys((globalThis as any).__coverage__)).toContain('src/handlers/api.ts');
    expect(readFileSync(join(api, 'lambda-coverage-manifest.json'), 'utf8')).toContain('"src/handlers/api.ts"');
    // build-CombinerFunction installs the published package; here the linked checkout stands in for it.
    const mod = await import(pathToFileURL(join(dir, 'combiner/index.mjs')).href);
    expect(typeof mod.handler).toBe('function');
    await expect(mod.handler({})).rejects.toThrow(/bucket/);
  });

  it('serverless: the plugins file gives serverless-esbuild an instrumenting plugin', async () => {
    const dir = join(root, 'examples/serverless');
    const { build } = await import('esbuild');
    process.env.COVERAGE_ENABLED = '1';
    try {
      const plugins = (await import(`${pathToFileURL(join(dir, 'esbuild-plugins.mjs')).href}?t=${Date.now()}`)).default;
      const outdir = join(work, 'sls');
      await build({
        absWorkingDir: dir, entryPoints: ['src/handlers/queue.ts'], outdir, bundle: true, platform: 'node',
        format: 'esm', outExtension: { '.js': '.mjs' }, plugins, logLevel: 'silent', preserveSymlinks: true,
      });
      await import(pathToFileURL(join(outdir, 'queue.mjs')).href);
      expect(Object.keys((globalThis as any).__coverage__)).toContain('src/handlers/queue.ts');
      // The maps land in the build folder serverless-esbuild zips, where the layer looks for them.
      expect(readFileSync(join(outdir, 'lambda-coverage-manifest.json'), 'utf8')).toContain('"src/handlers/queue.ts"');
    } finally {
      delete process.env.COVERAGE_ENABLED;
    }
  });
});
