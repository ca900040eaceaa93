import { describe, expect, it } from 'vitest';
import { computeMapId, decodeJsonGz, encodeJsonGz, parseShard, checkCountersMatchMaps } from '../../contract/format.js';
import { buildMapsDocument, buildShard, coverageFingerprint, mapIdOf, selectMaps, takeSnapshot, type LiveCoverage } from '../../runtime/snapshot.js';
import { FIXTURE_HASH, FIXTURE_PATH, fixtureManifest, fixtureMaps } from './fixtures.js';

function lean(): LiveCoverage {
  return { [FIXTURE_PATH]: { path: FIXTURE_PATH, hash: FIXTURE_HASH, s: { 0: 2, 1: 0, 2: 2, 3: 0 }, f: { 0: 2, 1: 0 }, b: { 0: [0, 2] } } };
}

describe('snapshot and encode', () => {
  it('copies lean counters into arrays that keep their values when the live ones move on', () => {
    const cov = lean();
    const snap = takeSnapshot(cov);
    cov[FIXTURE_PATH]!.s[0]!++;
    cov[FIXTURE_PATH]!.b[0]![0]!++;
    expect(snap.files[FIXTURE_PATH]).toEqual({ hash: FIXTURE_HASH, s: [2, 0, 2, 0], f: [2, 0], b: [[0, 2]] });
    expect(snap.total).toBe(8);
  });

  it('a snapshot refilled in place equals a fresh one; a file of another version or shape gets fresh arrays', () => {
    const cov = lean();
    cov['src/other.ts'] = { path: 'src/other.ts', hash: 'h2', s: { 0: 1 }, f: {}, b: {} };
    const first = takeSnapshot(cov);
    const arrays = first.files[FIXTURE_PATH]!;
    cov[FIXTURE_PATH]!.s[1]! += 3;
    cov[FIXTURE_PATH]!.b[0]![1]!++;
    const again = takeSnapshot(cov, undefined, first);
    expect(again).toEqual(takeSnapshot(cov));
    expect(again.files[FIXTURE_PATH]).toBe(arrays);
    // A new version of a file (another hash, more statements): never refilled into the old arrays.
    cov['src/other.ts'] = { path: 'src/other.ts', hash: 'h3', s: { 0: 1, 1: 5 }, f: { 0: 1 }, b: {} };
    cov[FIXTURE_PATH]!.s[4] = 7;
    const changed = takeSnapshot(cov, undefined, again);
    expect(changed).toEqual(takeSnapshot(cov));
    expect(changed.files['src/other.ts']).toEqual({ hash: 'h3', s: [1, 5], f: [1], b: [] });
    expect(changed.files[FIXTURE_PATH]!.s).toEqual([2, 3, 2, 0, 7]);
  });

  it('the fingerprint changes exactly when a counter or the file set changes', () => {
    const cov = lean();
    const a = coverageFingerprint(cov);
    expect(coverageFingerprint(cov)).toBe(a);
    cov[FIXTURE_PATH]!.f[1]!++;
    const b = coverageFingerprint(cov);
    expect(b).not.toBe(a);
    cov['src/other.ts'] = { path: 'src/other.ts', hash: 'h2', s: { 0: 0 }, f: {}, b: {} };
    expect(coverageFingerprint(cov)).not.toBe(b);
  });

  it('takes maps from the manifest for lean files and from the object for full files; a shard round-trips', () => {
    const cov: LiveCoverage = { ...lean(), 'src/full.ts': { ...fixtureMaps('src/full.ts', 'hf'), s: { 0: 1, 1: 0, 2: 0, 3: 0 }, f: { 0: 1, 1: 0 }, b: { 0: [1, 0] } } };
    const sel = selectMaps(cov, fixtureManifest());
    expect(sel.missing).toEqual([]);
    expect(sel.mapId).toBe(mapIdOf(cov));
    expect(sel.mapId).toBe(computeMapId([{ path: FIXTURE_PATH, hash: FIXTURE_HASH }, { path: 'src/full.ts', hash: 'hf' }]));
    const maps = buildMapsDocument(sel)!;
    const shard = buildShard({ functionName: 'fn', functionVersion: '1', containerId: 'c', startedAt: new Date(0).toISOString(), invocations: 2 }, takeSnapshot(cov), sel.mapId, new Date());
    const back = parseShard(decodeJsonGz(encodeJsonGz(shard), 'shard'));
    for (const [path, counters] of Object.entries(back.files)) checkCountersMatchMaps(counters, maps.files[path]!, path);
    // Shards carry no maps, and with a maps document no hashes either (they are in the maps).
    expect(JSON.stringify(back)).not.toContain('statementMap');
    expect(back.version).toBe(2);
    expect(back.files[FIXTURE_PATH]).toEqual({ s: [2, 0, 2, 0], f: [2, 0], b: [[0, 2]] });
    expect(maps.files[FIXTURE_PATH]!.hash).toBe(FIXTURE_HASH);
    // Without one, each file keeps its hash: it is how a manifest's maps are found for it.
    const unmapped = parseShard(decodeJsonGz(encodeJsonGz(buildShard({ functionName: 'fn', functionVersion: '1', containerId: 'c', startedAt: new Date(0).toISOString(), invocations: 2 }, takeSnapshot(cov), null, new Date())), 'shard'));
    expect(unmapped.files[FIXTURE_PATH]!.hash).toBe(FIXTURE_HASH);
  });

  it('a lean file absent from the manifest (or of another version) is reported and left out', () => {
    const cov = { ...lean(), 'src/new.ts': { path: 'src/new.ts', hash: 'other', s: { 0: 1 }, f: {}, b: {} } };
    const sel = selectMaps(cov, fixtureManifest());
    expect(sel.missing).toEqual(['src/new.ts']);
    expect([...sel.keys]).toEqual([FIXTURE_PATH]);
    expect(Object.keys(takeSnapshot(cov, sel.keys).files)).toEqual([FIXTURE_PATH]);
  });

  it('skips entries that are not Istanbul coverage and says which', () => {
    const cov = { ...lean(), junk: { s: 1 } } as unknown as LiveCoverage;
    expect(takeSnapshot(cov).invalid).toEqual(['junk']);
  });
});

describe('maps from the manifest without parsing them', () => {
  it('the plugin\'s line layout and a plain JSON manifest give the same maps document as the object path', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { readManifestEntries } = await import('../../runtime/manifest.js');
    const { mapsDocumentBytes, selectMapsBytes } = await import('../../runtime/snapshot.js');
    const { parseMaps } = await import('../../contract/format.js');
    const manifest = fixtureManifest([fixtureMaps(), fixtureMaps('src/(quoted) ü.ts', 'h2'), fixtureMaps('src/unused.ts', 'h3')]);
    const dir = mkdtempSync(join(tmpdir(), 'lc-manifest-'));
    const header = JSON.stringify({ ...manifest, files: {} }).slice(0, -3);
    const lines = Object.entries(manifest.files).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
    writeFileSync(join(dir, 'lines.json'), `${header}{\n${lines.join(',\n')}\n}}\n`);
    writeFileSync(join(dir, 'plain.json'), JSON.stringify(manifest, null, 1));
    const cov: LiveCoverage = { ...lean(), 'src/(quoted) ü.ts': { path: 'src/(quoted) ü.ts', hash: 'h2', s: { 0: 1, 1: 0, 2: 0, 3: 0 }, f: { 0: 0, 1: 0 }, b: { 0: [0, 0] } } };
    const expected = buildMapsDocument(selectMaps(cov, manifest));
    for (const file of ['lines.json', 'plain.json']) {
      const entries = readManifestEntries(join(dir, file));
      expect(entries.size).toBe(3);
      const sel = selectMapsBytes(cov, entries);
      expect(sel.missing).toEqual([]);
      const doc = parseMaps(JSON.parse(mapsDocumentBytes(sel)!.toString('utf8')));
      expect(doc).toEqual(expected);
    }
  });
});

describe('the shard written as bytes', () => {
  const meta = { functionName: 'fn "quoted"', functionVersion: '$LATEST', containerId: 'c-1', startedAt: new Date(0).toISOString(), invocations: 7 };
  const cov = (): LiveCoverage => ({
    'src/a.ts': { path: 'src/a.ts', hash: 'h1', s: { 0: 3, 1: 0, 2: 1234567890123 }, f: { 0: 1 }, b: { 0: [1, 0], 1: [0, 0, 4] } },
    'src/"odd" \\ ünï ✓.ts': { path: 'x', hash: 'h"2', s: { 0: 2 ** 53 + 2, 1: 10 }, f: {}, b: {} },
    'src/empty.ts': { path: 'src/empty.ts', hash: 'h3', s: {}, f: {}, b: {} },
  });

  it('are exactly JSON.stringify of the shard object, with and without a maps document, open for per-test members', async () => {
    const { ShardWriter } = await import('../../runtime/shard-bytes.js');
    const { SHARD_VERSION } = await import('../../contract/format.js');
    const w = new ShardWriter(8); // grows from 8 bytes
    const now = new Date(1_000);
    const snap = takeSnapshot(cov());
    for (const mapId of [null, 'map-1']) {
      const text = JSON.stringify(buildShard(meta, snap, mapId, now));
      expect(w.write(meta, snap, mapId, now).toString('utf8')).toBe(text);
      const open = JSON.stringify({ ...buildShard(meta, snap, mapId, now), version: SHARD_VERSION }).slice(0, -1);
      expect(w.write(meta, snap, mapId, now, true).toString('utf8')).toBe(open);
    }
  });

  it('a refilled snapshot keeps only the files it took', () => {
    const c = cov();
    const first = takeSnapshot(c);
    const only = new Set(['src/a.ts', 'src/empty.ts']);
    const again = takeSnapshot(c, only, first);
    expect(again).toEqual(takeSnapshot(c, only));
    (c['src/empty.ts'] as { hash?: string }).hash = undefined;
    expect(takeSnapshot(c, undefined, again)).toEqual(takeSnapshot(c));
  });
});
