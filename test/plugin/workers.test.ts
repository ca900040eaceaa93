// Worker threads run the compiled plugin (dist/, built by `npm test`'s pretest), so this file
// imports the package by name, as a user would.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANIFEST_FILE, parseManifest } from '../../contract/format.js';
import { buildOptions, captureStderr, makeProject, readJson, runBundle } from './helpers.js';

type PluginModule = typeof import('../../plugin/index.js');
let plugin: PluginModule;
let project: { dir: string; cleanup: () => void };

beforeAll(async () => {
  if (!existsSync(new URL('../../dist/plugin/worker.js', import.meta.url))) {
    throw new Error('dist/plugin/worker.js is missing: run `npm run build` first (npm test does)');
  }
  plugin = (await import('lambda-coverage/esbuild')) as PluginModule;
  project = makeProject();
});
afterAll(() => project?.cleanup());

describe('worker threads', () => {
  it('instrument the same as the main thread', async () => {
    const { dir } = project;
    const { lines, restore } = captureStderr();
    process.env.LAMBDA_COVERAGE_DEBUG = '1';
    try {
      await esbuild.build({ ...buildOptions(dir, 'threads', [plugin.coverageInstrument({ enabled: true, cache: false, workers: 2 })]), logLevel: undefined });
      await esbuild.build({ ...buildOptions(dir, 'inline', [plugin.coverageInstrument({ enabled: true, cache: false, workers: 0 })]), logLevel: undefined });
    } finally {
      delete process.env.LAMBDA_COVERAGE_DEBUG;
      restore();
    }
    const debugEnd = lines.filter((l) => l.includes('onLoad total'));
    expect(debugEnd[0]).toContain('workers 2');
    expect(debugEnd[1]).toContain('workers 0');
    expect(readFileSync(join(dir, 'threads', 'handler.mjs')).equals(readFileSync(join(dir, 'inline', 'handler.mjs')))).toBe(true);
    const a = parseManifest(readJson(join(dir, 'threads', MANIFEST_FILE)));
    const b = parseManifest(readJson(join(dir, 'inline', MANIFEST_FILE)));
    expect(a.files).toEqual(b.files);
    const [ra, rb] = await Promise.all([runBundle(join(dir, 'threads', 'handler.mjs'), 'run'), runBundle(join(dir, 'inline', 'handler.mjs'), 'run')]);
    expect(ra.coverage).toEqual(rb.coverage);
    expect(Object.keys(ra.coverage)).toHaveLength(13);
  });

  it('report a syntax error with its location', async () => {
    const { dir } = project;
    writeFileSync(join(dir, 'src/broken-w.ts'), 'export const a = 1;\nexport const b = ;\n');
    const failure = await esbuild
      .build({ ...buildOptions(dir, 'broken-w', [plugin.coverageInstrument({ enabled: true, cache: false, workers: 1 })]), entryPoints: ['src/broken-w.ts'] })
      .then(() => undefined, (e: esbuild.BuildFailure) => e);
    expect(failure?.errors[0]?.location).toMatchObject({ file: 'src/broken-w.ts', line: 2, column: 17, lineText: 'export const b = ;' });
  });
});
