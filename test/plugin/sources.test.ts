// The plugin's `sources` option on real esbuild builds of the fixture project: off by default (no
// sources document, and one left by an earlier build is removed), the texts of exactly the files the
// manifest lists with it on (write: false too, and after a rebuild that drops a file), the same
// bundle either way, and a wrong value refused.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import { describe, expect, it } from 'vitest';
import { coverageInstrument } from '../../plugin/index.js';
import { CoverageOptionsError } from '../../plugin/options.js';
import { MANIFEST_FILE, SOURCES_FILE, parseManifest, parseSources } from '../../contract/format.js';
import { sourceMismatch } from '../../combiner/stored-sources.js';
import { buildOptions, projectsRemovedAfterEach } from './helpers.js';

const project = projectsRemovedAfterEach();

const plugin = (o: Parameters<typeof coverageInstrument>[0] = {}) => coverageInstrument({ enabled: true, cache: false, workers: 0, summary: false, ...o });

function readDocs(out: string) {
  const manifest = parseManifest(JSON.parse(readFileSync(join(out, MANIFEST_FILE), 'utf8')));
  const sources = parseSources(JSON.parse(gunzipSync(readFileSync(join(out, SOURCES_FILE))).toString('utf8')));
  return { manifest, sources };
}

describe('coverageInstrument({ sources })', () => {
  it('is off by default: no sources document, and the bundle is byte-identical with it on', async () => {
    const dir = project();
    await esbuild.build(buildOptions(dir, join(dir, 'off'), [plugin()]));
    await esbuild.build(buildOptions(dir, join(dir, 'on'), [plugin({ sources: true })]));
    expect(existsSync(join(dir, 'off', SOURCES_FILE))).toBe(false);
    expect(existsSync(join(dir, 'on', SOURCES_FILE))).toBe(true);
    expect(readFileSync(join(dir, 'on', 'handler.mjs'), 'utf8')).toBe(readFileSync(join(dir, 'off', 'handler.mjs'), 'utf8'));
  });

  it('holds the exact text of every file the manifest lists, under its hash, and nothing else', async () => {
    const dir = project();
    const out = join(dir, 'dist');
    await esbuild.build(buildOptions(dir, out, [plugin({ sources: true })]));
    const { manifest, sources } = readDocs(out);
    expect(Object.keys(sources.files).sort()).toEqual(Object.values(manifest.files).map((f) => f.hash).sort());
    for (const [path, maps] of Object.entries(manifest.files)) {
      expect(sources.files[maps.hash]).toBe(readFileSync(join(dir, path), 'utf8'));
      // The combiner's check of a stored text against its maps accepts every genuine one (TSX,
      // decorators, enums, namespaces, generics of the fixture).
      expect(sourceMismatch(sources.files[maps.hash]!, maps), path).toBeUndefined();
    }
    expect(Object.keys(manifest.files).length).toBeGreaterThan(8);
  });

  it('keeps only the versions the manifest lists after a rebuild changed a file', async () => {
    const dir = project();
    const out = join(dir, 'dist');
    const ctx = await esbuild.context(buildOptions(dir, out, [plugin({ sources: true })]));
    try {
      await ctx.rebuild();
      const before = readDocs(out);
      const [path] = Object.keys(before.manifest.files).filter((p) => p !== 'src/handler.ts');
      writeFileSync(join(dir, path!), `${readFileSync(join(dir, path!), 'utf8')}\nexport const added = 1;\n`);
      await ctx.rebuild();
      const after = readDocs(out);
      expect(after.manifest.files[path!]!.hash).not.toBe(before.manifest.files[path!]!.hash);
      expect(Object.keys(after.sources.files).sort()).toEqual(Object.values(after.manifest.files).map((f) => f.hash).sort());
      expect(after.sources.files[after.manifest.files[path!]!.hash]).toContain('export const added = 1;');
    } finally {
      await ctx.dispose();
    }
  });

  it('with write: false the sources document is one more output file', async () => {
    const dir = project();
    const r = await esbuild.build({ ...buildOptions(dir, join(dir, 'mem'), [plugin({ sources: true })]), write: false });
    const file = r.outputFiles.find((f) => f.path.endsWith(SOURCES_FILE));
    expect(file).toBeDefined();
    expect(Object.keys(parseSources(JSON.parse(gunzipSync(file!.contents).toString('utf8'))).files).length).toBeGreaterThan(0);
    expect(existsSync(join(dir, 'mem'))).toBe(false);
  });

  it('a build with sources off removes a sources document an earlier build left beside the manifest, and says so', async () => {
    const dir = project();
    const out = join(dir, 'dist');
    await esbuild.build(buildOptions(dir, out, [plugin({ sources: true })]));
    expect(existsSync(join(out, SOURCES_FILE))).toBe(true);
    const r = await esbuild.build(buildOptions(dir, out, [plugin()]));
    expect(existsSync(join(out, SOURCES_FILE))).toBe(false);
    expect(r.warnings.map((w) => w.text)).toEqual([expect.stringContaining('this build has sources off')]);
    rmSync(out, { recursive: true });
  });

  it('refuses a value that is not a boolean, naming the option', () => {
    expect(() => coverageInstrument({ sources: 'yes' as unknown as boolean })).toThrow(CoverageOptionsError);
    expect(() => coverageInstrument({ sources: 'yes' as unknown as boolean })).toThrow(/option "sources" must be a boolean/);
  });
});
