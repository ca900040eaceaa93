// The maps document the plugin writes beside the manifest (plugin/maps.ts), on real esbuild builds of
// the fixture project: named by the map id of the manifest's files, exactly the document the runtime
// builds from the manifest for a container that has those files, replaced (the old one removed) when a
// rebuild changes a file, and one more output file with write: false.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import { describe, expect, it } from 'vitest';
import { coverageInstrument } from '../../plugin/index.js';
import { MANIFEST_FILE, MAPS_FILE_PATTERN, computeMapId, mapsFileName, parseManifest, parseMaps } from '../../contract/format.js';
import { readManifestEntries } from '../../runtime/manifest.js';
import { mapsDocumentBytes, selectMapsBytes, type LiveCoverage } from '../../runtime/snapshot.js';
import { buildOptions, projectsRemovedAfterEach } from './helpers.js';

const project = projectsRemovedAfterEach();

const plugin = () => coverageInstrument({ enabled: true, cache: false, workers: 0, summary: false });
const mapsFiles = (out: string) => readdirSync(out).filter((n) => MAPS_FILE_PATTERN.test(n));

describe('the maps document beside the manifest', () => {
  it('is named by the map id of the manifest\'s files and is the document the runtime would build from the manifest', async () => {
    const dir = project();
    const out = join(dir, 'dist');
    await esbuild.build(buildOptions(dir, out, [plugin()]));
    const manifest = parseManifest(JSON.parse(readFileSync(join(out, MANIFEST_FILE), 'utf8')));
    const mapId = computeMapId(Object.entries(manifest.files).map(([path, m]) => ({ path, hash: m.hash })));
    expect(mapsFiles(out)).toEqual([mapsFileName(mapId)]);
    const doc = parseMaps(JSON.parse(gunzipSync(readFileSync(join(out, mapsFileName(mapId)))).toString('utf8')));
    // A container whose __coverage__ has every file of the build (lean counters, the same hashes).
    const cov: LiveCoverage = Object.fromEntries(Object.entries(manifest.files).map(([path, m]) => [path, { path, hash: m.hash, s: {}, f: {}, b: {} }]));
    const sel = selectMapsBytes(cov, readManifestEntries(join(out, MANIFEST_FILE)));
    expect(sel.mapId).toBe(mapId);
    expect(doc).toEqual(parseMaps(JSON.parse(mapsDocumentBytes(sel)!.toString('utf8'))));
    expect(Object.keys(doc.files).length).toBeGreaterThan(8);
  });

  it('is replaced when a rebuild changes a file: one document, of the new id', async () => {
    const dir = project();
    const out = join(dir, 'dist');
    const ctx = await esbuild.context(buildOptions(dir, out, [plugin()]));
    try {
      await ctx.rebuild();
      const [before] = mapsFiles(out);
      const manifest = parseManifest(JSON.parse(readFileSync(join(out, MANIFEST_FILE), 'utf8')));
      const [path] = Object.keys(manifest.files).filter((p) => p !== 'src/handler.ts');
      writeFileSync(join(dir, path!), `${readFileSync(join(dir, path!), 'utf8')}\nexport const added = 1;\n`);
      await ctx.rebuild();
      const after = mapsFiles(out);
      expect(after).toHaveLength(1);
      expect(after[0]).not.toBe(before);
      await ctx.rebuild();
      expect(mapsFiles(out)).toEqual(after);
    } finally {
      await ctx.dispose();
    }
  });

  it('with write: false it is one more output file', async () => {
    const dir = project();
    const r = await esbuild.build({ ...buildOptions(dir, join(dir, 'mem'), [plugin()]), write: false });
    const files = r.outputFiles.filter((f) => MAPS_FILE_PATTERN.test(f.path.split('/').at(-1)!));
    expect(files).toHaveLength(1);
    expect(parseMaps(JSON.parse(gunzipSync(files[0]!.contents).toString('utf8'))).mapId).toMatch(/^[0-9a-f]{32}$/);
  });
});
