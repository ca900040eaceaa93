// Shared helpers of the plugin tests: a fresh copy of the fixture project, real builds, real runs.
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import * as esbuild from 'esbuild';
import type { FileCoverageData } from 'istanbul-lib-coverage';
import { afterEach, vi } from 'vitest';
import type { Range } from '../../contract/format.js';
import { COVERAGE_GLOBAL } from '../../runtime/coverage-global.js';

const execFileAsync = promisify(execFile);
export const FIXTURE = new URL('../fixtures/plugin-project/', import.meta.url);

/** A fresh copy of the fixture project in a temp dir, with its dependency laid out in node_modules. */
/** For a test file: a function that copies the fixture project anew each call, removed after each test. */
export function projectsRemovedAfterEach(): () => string {
  const cleanups: (() => void)[] = [];
  afterEach(() => { for (const c of cleanups.splice(0)) c(); });
  return () => {
    const p = makeProject();
    cleanups.push(p.cleanup);
    return p.dir;
  };
}

export function makeProject(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'lc-plugin-'));
  cpSync(FIXTURE, dir, { recursive: true });
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  cpSync(join(dir, 'deps/tiny-dep'), join(dir, 'node_modules/tiny-dep'), { recursive: true });
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The fixture's usual build: one ESM bundle for Node 22 with an external source map. */
export function buildOptions(dir: string, outdir: string, plugins: esbuild.Plugin[]): esbuild.BuildOptions {
  return {
    absWorkingDir: dir,
    entryPoints: ['src/handler.ts'],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    outdir,
    outExtension: { '.js': '.mjs' },
    sourcemap: true,
    logLevel: 'silent',
    plugins,
  };
}

export type Coverage = Record<string, Partial<FileCoverageData> & { path: string; hash?: string; s: Record<string, number>; f: Record<string, number>; b: Record<string, number[]> }>;

/**
 * Runs the bundle in a fresh Node 22 process (source maps on) and returns what `call` returned,
 * the coverage global after it, and stderr.
 */
export async function runBundle(
  bundle: string,
  call: 'run' | 'fail' | 'none',
): Promise<{ result: unknown; coverage: Coverage; stderr: string }> {
  const script = `
    const m = await import(process.argv[1]);
    let result = null;
    if (process.argv[2] === 'run') result = await m.run();
    if (process.argv[2] === 'fail') { try { m.fail(); } catch (e) { console.error(e.stack); } }
    process.stdout.write(JSON.stringify({ result, coverage: globalThis[process.argv[3]] ?? {} }));
  `;
  const { stdout, stderr } = await execFileAsync(
    process.execPath,
    ['--enable-source-maps', '--input-type=module', '-e', script, pathToFileURL(bundle).href, call, COVERAGE_GLOBAL],
    { encoding: 'utf8' },
  );
  const parsed = JSON.parse(stdout) as { result: unknown; coverage: Coverage };
  return { ...parsed, stderr };
}

/** The text of `source` covered by an Istanbul range (lines 1-based, columns 0-based, end exclusive). */
export function sliceRange(source: string, range: Range): string {
  const lines = source.split('\n');
  const offset = (line: number, column: number | null): number => {
    let o = 0;
    for (let i = 0; i < line - 1; i++) o += (lines[i]?.length ?? 0) + 1;
    return o + (column ?? 0);
  };
  return source.slice(offset(range.start.line, range.start.column), offset(range.end.line, range.end.column));
}

export function readJson(file: string): unknown {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** Collects what is written to stderr (the plugin's end-of-build line) until `restore()`. */
export function captureStderr(): { lines: string[]; restore: () => void } {
  const lines: string[] = [];
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  return { lines, restore: () => spy.mockRestore() };
}
