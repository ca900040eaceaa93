import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import libCoverage from 'istanbul-lib-coverage';
import { CoverageMerger, InputRejectedError, packShard } from '../../combiner/merge.js';
import { sameLayout, type PackedFile } from '../../contract/decode.js';
import { applyPathMap, detectBuildPrefix, parsePathMap, safeJoin } from '../../combiner/paths.js';
import { encodeJsonGz, parseShard, type MapsDocument } from '../../contract/format.js';
import { ingestOne, newStats } from '../../combiner/ingest.js';
import type { SourceItem } from '../../combiner/sources.js';
import { resolveS3Settings } from '../../combiner/s3.js';
import { APP, instrument, invoke, manifestOf, runContainer, sumData, toShard, type IstanbulData } from './helpers.js';

const code = instrument();
const info = (source: string, time = Date.parse('2026-11-01T10:00:00Z')) => ({ source, time });

/** The merged result's counters, keyed like Istanbul data, for comparing with a real run. */
function counters(map: libCoverage.CoverageMap): Record<string, { s: unknown; f: unknown; b: unknown }> {
  const out: Record<string, { s: unknown; f: unknown; b: unknown }> = {};
  for (const [k, v] of Object.entries(map.toJSON())) out[k] = { s: v.s, f: v.f, b: v.b };
  return out;
}
function countersOf(data: IstanbulData) {
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, { s: v.s, f: v.f, b: v.b }]));
}

describe('merge core', () => {
  it('N shards of separate containers sum exactly to one process running all the invocations', () => {
    const calls = Array.from({ length: 40 }, (_, i) => i);
    // One process that loads the modules once per container (each cold start runs module scope) and
    // then runs every invocation: the counts the fleet must add up to.
    const single = runContainer(code, (m) => calls.forEach((i) => invoke(m, i)));
    const merger = new CoverageMerger();
    const parts: IstanbulData[] = [];
    for (let c = 0; c < 5; c++) {
      const data = runContainer(code, (m) => calls.filter((i) => i % 5 === c).forEach((i) => invoke(m, i)));
      parts.push(data);
      const { shard, maps } = toShard(data, { containerId: `c${c}` });
      merger.addShard(parseShard(JSON.parse(JSON.stringify(shard))), maps, info(`c${c}`));
    }
    const [build] = merger.result().builds;
    const loadsOnly = runContainer(code, () => {});
    const expected = countersOf(single);
    for (const [k, v] of Object.entries(loadsOnly)) {
      for (const [i, n] of Object.entries(v.s)) (expected[k]!.s as Record<string, number>)[i]! += 4 * n;
    }
    expect(counters(build!.coverageMap)).toEqual(expected);
    // Istanbul's own merge of the containers' full data agrees (same maps, so its merge is right here).
    const reference = libCoverage.createCoverageMap({});
    for (const p of parts) reference.merge(JSON.parse(JSON.stringify(p)));
    expect(counters(build!.coverageMap)).toEqual(counters(reference));
    // Key and .path agree and the maps are Istanbul's own.
    const json = build!.coverageMap.toJSON();
    for (const [k, v] of Object.entries(json)) {
      expect(v.path).toBe(k);
      expect(v.statementMap).toEqual(single[k]!.statementMap);
    }
  });

  it('refuses a whole shard when one file is wrong, leaving counters from good shards untouched', () => {
    const data = runContainer(code, (m) => invoke(m, 1));
    const good = toShard(data);
    const merger = new CoverageMerger();
    merger.addShard(good.shard, good.maps, info('good'));
    const before = counters(merger.result().builds[0]!.coverageMap);

    const bad = toShard(data, { containerId: 'bad' });
    bad.shard.files['src/calc.js']!.s[0] = 1000; // valid counts in one file …
    bad.shard.files['src/greet.js']!.s.push(1); // … and one counter too many in the other
    expect(() => merger.addShard(bad.shard, bad.maps, info('coverage/orders/shards/bad.json.gz')))
      .toThrow(/coverage\/orders\/shards\/bad\.json\.gz: file src\/greet\.js: has \d+ statement counters, its map has \d+/);
    const missingArm = toShard(data, { containerId: 'arm' });
    missingArm.shard.files['src/calc.js']!.b[0]!.pop();
    expect(() => merger.addShard(missingArm.shard, missingArm.maps, info('arm'))).toThrow(/branch 0 has 1 arms, its map has 2/);
    expect(counters(merger.result().builds[0]!.coverageMap)).toEqual(before);
    expect(merger.inputs).toBe(1);
  });

  it('refuses a shard whose maps document does not list a file', () => {
    const data = runContainer(code, (m) => invoke(m, 1));
    const { shard, maps } = toShard(data);
    delete maps.files['src/greet.js'];
    expect(() => new CoverageMerger().addShard(shard, maps, info('k'))).toThrow(/src\/greet\.js: no static maps \(its maps document .* does not list it\)/);
    const v1 = toShard(data, { version: 1 });
    delete v1.maps.files['src/greet.js'];
    expect(() => new CoverageMerger().addShard(v1.shard, v1.maps, info('k'))).toThrow(/src\/greet\.js: no static maps for hash .* does not list it/);
  });

  it('reads version-1 shards (each file with its hash) and version-2 shards (hashes in the maps document) to the same result', () => {
    const data = runContainer(code, (m) => [1, 2, 5].forEach((i) => invoke(m, i)));
    const results = ([1, 2] as const).map((version) => {
      const { shard, maps } = toShard(data, { version });
      const parsed = parseShard(JSON.parse(JSON.stringify(shard)));
      expect(Object.values(parsed.files).every((f) => (f.hash !== undefined) === (version === 1))).toBe(true);
      const merger = new CoverageMerger();
      merger.addShard(parsed, maps, info(`v${version}`));
      return JSON.parse(JSON.stringify(merger.result().builds[0]!.coverageMap)) as IstanbulData;
    });
    expect(results[1]).toEqual(results[0]);
    expect(results[0]!['src/calc.js']!.hash).toBe(data['src/calc.js']!.hash);
    // A version-2 shard still names the file version it counted: a maps document of another version is refused.
    const changed = runContainer(instrument(['src/calc.js', 'src/greet.js'], (f) => `${readFileSync(join(APP, f), 'utf8')}\nfunction extra() { return 1; }\n`), (m) => invoke(m, 1));
    const other = toShard(changed);
    expect(() => new CoverageMerger().addShard(toShard(data).shard, { ...other.maps, mapId: toShard(data).shard.mapId! }, info('k'))).toThrow(/counters|statement|function|branch/);
  });

  it('validates plain Istanbul files: null, negative, fractional, missing counters and bogus documents are refused whole', () => {
    const data = runContainer(code, (m) => invoke(m, 2));
    const cases: [string, (d: IstanbulData) => unknown, RegExp][] = [
      ['null counter', (d) => { (d['src/calc.js']!.s as Record<string, unknown>)['0'] = null; return d; }, /s\[0\] is null/],
      ['negative counter', (d) => { d['src/calc.js']!.f['0'] = -3; return d; }, /f\[0\] is -3/],
      ['fractional counter', (d) => { d['src/greet.js']!.b['0']![0] = 0.5; return d; }, /b\[0\]\[0\] is 0\.5/],
      ['missing counter', (d) => { delete d['src/calc.js']!.s['3']; return d; }, /statement counters|expected indices/],
      ['extra arm', (d) => { d['src/calc.js']!.b['0']!.push(1); return d; }, /branch 0 has 3 arms/],
      ['not coverage', () => ({ name: 'my-app', version: '1.0.0' }), /entry "name": not a file coverage object/],
      ['an array', () => [1, 2], /not Istanbul coverage/],
      ['no statementMap', (d) => { delete (d['src/calc.js'] as Partial<IstanbulData[string]>).statementMap; return d; }, /"statementMap" is missing/],
    ];
    for (const [name, mutate, reason] of cases) {
      const merger = new CoverageMerger();
      const bad = mutate(JSON.parse(JSON.stringify(data)) as IstanbulData);
      let err: unknown;
      try { merger.addIstanbul(bad, info('coverage-final.json')); } catch (e) { err = e; }
      expect(err, name).toBeInstanceOf(InputRejectedError);
      expect((err as Error).message, name).toMatch(reason);
      expect(merger.result().builds[0]!.files, name).toHaveLength(0);
    }
  });

  it('never sums two versions of one file: the newest wins and the dropped inputs are counted', () => {
    const v1 = runContainer(code, (m) => invoke(m, 1));
    const changed = instrument(['src/calc.js', 'src/greet.js'], (f) => {
      const src = readFileSync(join(APP, f), 'utf8');
      return f === 'src/calc.js' ? src.replace('return 42;', 'if (Math.random() > 2) return 1;\n  return 42;') : src;
    });
    const v2 = runContainer(changed, (m) => invoke(m, 2));
    expect(v2['src/calc.js']!.hash).not.toBe(v1['src/calc.js']!.hash);
    const merger = new CoverageMerger();
    merger.addShard(toShard(v1, { containerId: 'old1', updatedAt: '2026-11-01T10:00:00.000Z' }).shard, toShard(v1).maps, info('old1'));
    merger.addShard(toShard(v1, { containerId: 'old2', updatedAt: '2026-11-01T10:01:00.000Z' }).shard, toShard(v1).maps, info('old2'));
    merger.addShard(toShard(v2, { containerId: 'new', updatedAt: '2026-11-02T10:00:00.000Z' }).shard, toShard(v2).maps, info('new'));
    const r = merger.result();
    const calc = r.builds[0]!.coverageMap.fileCoverageFor('src/calc.js');
    expect((calc.data as { hash?: string }).hash).toBe(v2['src/calc.js']!.hash);
    expect(Object.keys(calc.data.statementMap)).toHaveLength(Object.keys(v2['src/calc.js']!.statementMap).length);
    expect(calc.data.s).toEqual(v2['src/calc.js']!.s); // nothing inherited from the old version
    expect(r.dropped).toEqual([{ path: 'src/calc.js', keptHash: v2['src/calc.js']!.hash, droppedHashes: [v1['src/calc.js']!.hash], droppedInputs: 2 }]);
    // greet.js did not change: all three containers count.
    const greetOnly = (d: IstanbulData): IstanbulData => ({ 'src/greet.js': d['src/greet.js']! });
    expect(r.builds[0]!.coverageMap.fileCoverageFor('src/greet.js').data.s).toEqual(sumData([v1, v1, v2].map(greetOnly))['src/greet.js']!.s);

    const all = new CoverageMerger({ build: 'all' });
    all.addShard(toShard(v1, { containerId: 'old1' }).shard, toShard(v1).maps, info('old1'));
    all.addShard(toShard(v2, { containerId: 'new', updatedAt: '2026-11-02T10:00:00.000Z' }).shard, toShard(v2).maps, info('new'));
    const builds = all.result().builds;
    expect(builds.map((b) => b.id).sort()).toEqual([`build-${toShard(v1).maps.mapId}`, `build-${toShard(v2).maps.mapId}`].sort());
    expect(all.result().dropped).toEqual([]);
  });

  it('newest is the version whose containers started last, even when an old warm container wrote later (canary shift), also after --as-shard', () => {
    const v1 = runContainer(code, (m) => invoke(m, 1));
    const changed = instrument(['src/calc.js'], (f) => readFileSync(join(APP, f), 'utf8').replace('return 42;', 'if (Math.random() > 2) return 1;\n  return 42;'));
    const v2 = runContainer(changed, (m) => invoke(m, 2));
    const oldWarm = toShard(v1, { containerId: 'old', startedAt: '2026-11-01T09:00:00.000Z', updatedAt: '2026-11-01T12:00:00.000Z' });
    const fresh = toShard(v2, { containerId: 'new', startedAt: '2026-11-01T10:00:00.000Z', updatedAt: '2026-11-01T10:30:00.000Z' });
    const flat = new CoverageMerger();
    flat.addShard(oldWarm.shard, oldWarm.maps, info('old'));
    flat.addShard(fresh.shard, fresh.maps, info('new'));
    const r = flat.result();
    expect((r.builds[0]!.coverageMap.fileCoverageFor('src/calc.js').data as { hash?: string }).hash).toBe(v2['src/calc.js']!.hash);
    expect(r.dropped.map((d) => [d.path, d.droppedHashes])).toEqual([['src/calc.js', [v1['src/calc.js']!.hash]]]);

    // Each side merged on its own and written as a shard first: the same choice.
    const part = (s: typeof fresh, id: string) => {
      const m = new CoverageMerger();
      m.addShard(s.shard, s.maps, info(id));
      return m.toShard(m.result().builds[0]!, { containerId: id });
    };
    const tree = new CoverageMerger();
    for (const [s, id] of [[oldWarm, 'old'], [fresh, 'new']] as const) {
      const p = part(s, id);
      tree.addShard(p.shard, p.maps, info(`${id}-part`));
    }
    expect(tree.result().builds[0]!.coverageMap.toJSON()).toEqual(r.builds[0]!.coverageMap.toJSON());
  });

  it('shards sharing one files list (as the decoders hand them over) are added by a plan made once: the same result as one by one', () => {
    const maps = toShard(runContainer(code, (m) => invoke(m, 0))).maps;
    const shards = Array.from({ length: 6 }, (_, c) => toShard(runContainer(code, (m) => { for (let i = 0; i <= c; i++) invoke(m, i); }), {
      containerId: `c${c}`, invocations: c + 1, startedAt: `2026-11-0${c + 1}T10:00:00.000Z`, updatedAt: `2026-11-0${c + 1}T11:00:00.000Z`,
    }).shard);
    // Combined shards (--as-shard) carry each file's own times in the files list.
    const part = new CoverageMerger();
    part.addShard(shards[0]!, maps, info('p'));
    const combined = part.toShard(part.result().builds[0]!, { containerId: 'combined' }).shard;
    const view = (m: CoverageMerger) => {
      const b = m.result().builds[0]!;
      return { map: b.coverageMap.toJSON(), files: b.files.map((f) => [f.path, f.time, f.since, f.inputs]), inputs: m.inputs, invocations: m.invocations };
    };
    for (const list of [shards, [...shards].reverse(), [combined, combined, combined, ...shards]]) {
      const oneByOne = new CoverageMerger();
      const planned = new CoverageMerger();
      const shared = new Map<boolean, PackedFile[]>();
      for (const [k, shard] of list.entries()) {
        oneByOne.addShard(shard, maps, info(`s${k}`));
        const packed = packShard(shard);
        const key = shard.containerId === 'combined';
        const files = shared.get(key) ?? packed.files;
        shared.set(key, files);
        expect(sameLayout(files, packed.files)).toBe(true);
        planned.addPacked({ ...packed, files }, maps, info(`s${k}`));
      }
      expect(view(planned)).toEqual(view(oneByOne));
    }
  });

  it('merges nyc-style absolute paths with ours through --path-map or a detected prefix, and reports two spellings', () => {
    const ours = runContainer(code, (m) => invoke(m, 1));
    const theirs = JSON.parse(JSON.stringify(ours)) as IstanbulData;
    const abs: IstanbulData = {};
    for (const [k, v] of Object.entries(theirs)) abs[`/home/ci/work/app/${k}`] = { ...v, path: `/home/ci/work/app/${k}`, hash: 'other-hash' };

    for (const opts of [{ pathMap: [parsePathMap('/home/ci/work/app=.')] }, {}]) {
      const merger = new CoverageMerger(opts);
      merger.addShard(toShard(ours).shard, toShard(ours).maps, info('shard'));
      merger.addIstanbul(abs, info('.nyc_output/x.json'));
      const r = merger.result();
      const json = r.builds[0]!.coverageMap.toJSON();
      expect(Object.keys(json).sort()).toEqual(['src/calc.js', 'src/greet.js']);
      expect(json['src/calc.js']!.path).toBe('src/calc.js');
      expect(json['src/calc.js']!.s).toEqual(sumData([ours, ours])['src/calc.js']!.s);
      if (!('pathMap' in opts)) expect(r.prefix).toEqual({ kind: 'detected', prefix: '/home/ci/work/app', matched: 2 });
    }

    // Paths no rule brings inside the project: the input is refused whole (never read or reported
    // outside the project), with the --path-map that would bring it in.
    const noDetect = new CoverageMerger({ detectPrefix: false });
    noDetect.addShard(toShard(ours).shard, toShard(ours).maps, info('shard'));
    noDetect.addIstanbul(abs, info('.nyc_output/x.json'));
    const r = noDetect.result();
    expect(r.builds[0]!.files.map((f) => f.path)).toEqual(['src/calc.js', 'src/greet.js']);
    expect(r.builds[0]!.coverageMap.toJSON()['src/calc.js']!.s).toEqual(ours['src/calc.js']!.s);
    expect(r.refused).toEqual([{ source: '.nyc_output/x.json', reason: expect.stringMatching(/"\/home\/ci\/work\/app\/src\/calc\.js" is not inside the project: is absolute .*pass --path-map \/home\/ci\/work\/app=\. to merge it with "src\/calc\.js"/) }]);

    // Under the project root on this machine (nyc run from it): relative to it, merged.
    const underRoot = new CoverageMerger({ detectPrefix: false, projectRoot: '/home/ci/work/app' });
    underRoot.addShard(toShard(ours).shard, toShard(ours).maps, info('shard'));
    underRoot.addIstanbul(abs, info('.nyc_output/x.json'));
    expect(underRoot.result().refused).toEqual([]);
    expect(underRoot.result().builds[0]!.coverageMap.toJSON()['src/calc.js']!.s).toEqual(sumData([ours, ours])['src/calc.js']!.s);

    // Two build machines: no single prefix is detected, and the hint names a --path-map for each.
    const other: IstanbulData = {};
    for (const [k, v] of Object.entries(theirs)) other[`/srv/agent-2/app/${k}`] = { ...v, path: `/srv/agent-2/app/${k}` };
    const two = new CoverageMerger();
    two.addShard(toShard(ours).shard, toShard(ours).maps, info('shard'));
    two.addIstanbul(abs, info('a.json'));
    two.addIstanbul(other, info('b.json'));
    const r2 = two.result();
    expect(r2.prefix).toEqual({ kind: 'ambiguous', prefixes: ['/home/ci/work/app', '/srv/agent-2/app'] });
    expect(r2.builds[0]!.files).toHaveLength(2);
    expect(r2.refused.map((x) => x.source)).toEqual(['a.json', 'b.json']);
    expect(r2.refused[1]!.reason).toContain('pass --path-map /srv/agent-2/app=. to merge it with "src/calc.js"');
  });

  it('says which plain coverage files were transpiled code (inputSourceMap) instead of remapping silently', () => {
    const data = runContainer(code, (m) => invoke(m, 1));
    const withMap = JSON.parse(JSON.stringify(data)) as IstanbulData;
    (withMap['src/calc.js'] as Record<string, unknown>).inputSourceMap = { version: 3, sources: ['calc.ts'], mappings: '' };
    const merger = new CoverageMerger();
    merger.addIstanbul(withMap, info('.nyc_output/a.json'));
    expect(merger.result().remapNeeded).toEqual(['src/calc.js']);
  });

  it('lists files from a build manifest with zero counts (nyc --all)', () => {
    const all = instrument(['src/calc.js', 'src/greet.js', 'src/never.js']);
    const manifest = manifestOf(runContainer(all, () => {}));
    const data = runContainer(code, (m) => invoke(m, 3));
    const merger = new CoverageMerger();
    merger.addManifest(manifest, info('manifest'));
    merger.addShard(toShard(data).shard, toShard(data).maps, info('s'));
    const json = merger.result().builds[0]!.coverageMap.toJSON();
    expect(Object.keys(json).sort()).toEqual(['src/calc.js', 'src/greet.js', 'src/never.js']);
    expect(Object.values(json['src/never.js']!.s).every((n) => n === 0)).toBe(true);
    expect(json['src/calc.js']!.s).toEqual(data['src/calc.js']!.s);
  });

  it('is associative: combine(combine(A, B), C) equals combine(A, B, C)', () => {
    const v1 = runContainer(code, (m) => [1, 2, 3].forEach((i) => invoke(m, i)));
    const changed = instrument(['src/calc.js', 'src/greet.js'], (f) => {
      const src = readFileSync(join(APP, f), 'utf8');
      return f === 'src/greet.js' ? `${src}\nfunction extra() { return 1; }\n` : src;
    });
    const A = toShard(v1, { containerId: 'a', updatedAt: '2026-11-01T10:00:00.000Z' });
    const B = toShard(runContainer(code, (m) => invoke(m, 7)), { containerId: 'b', updatedAt: '2026-11-03T10:00:00.000Z', functionName: 'other' });
    const C = toShard(runContainer(changed, (m) => invoke(m, 9)), { containerId: 'c', updatedAt: '2026-11-02T10:00:00.000Z' });
    // B has no greet.js: the combined AB shard must keep greet.js at A's time, not B's, or C's newer
    // version of greet.js would lose to it.
    delete B.shard.files['src/greet.js'];
    const flat = new CoverageMerger();
    for (const [n, s] of [['a', A], ['b', B], ['c', C]] as const) flat.addShard(s.shard, s.maps, info(n));

    const ab = new CoverageMerger();
    ab.addShard(A.shard, A.maps, info('a'));
    ab.addShard(B.shard, B.maps, info('b'));
    const combined = ab.toShard(ab.result().builds[0]!, { containerId: 'ab' });
    const tree = new CoverageMerger();
    tree.addShard(parseShard(JSON.parse(JSON.stringify(combined.shard))), combined.maps, info('ab'));
    tree.addShard(C.shard, C.maps, info('c'));

    const flatJson = JSON.parse(JSON.stringify(flat.result().builds[0]!.coverageMap)) as IstanbulData;
    expect(flatJson['src/greet.js']!.hash).toBe(C.maps.files['src/greet.js']!.hash);
    expect(JSON.parse(JSON.stringify(tree.result().builds[0]!.coverageMap))).toEqual(flatJson);
    expect(tree.invocations).toBe(flat.invocations);
  });
});

describe('ingest', () => {
  it('a refused copy of a container does not hide a good copy checked while it was pending (order forced with a held maps load, a stand-in source)', async () => {
    const data = runContainer(code, (m) => invoke(m, 4));
    const { shard, maps } = toShard(data, { containerId: 'c9' });
    const bytes = encodeJsonGz(shard);
    let failMaps: ((e: Error) => void) | undefined;
    const item = (source: string, loadMaps: () => Promise<MapsDocument>): SourceItem => ({ source, time: 0, read: async () => bytes, loadMaps });
    const merger = new CoverageMerger();
    const stats = newStats();
    const broken = ingestOne(item('broken-copy', () => new Promise((_, reject) => { failMaps = reject; })), bytes, merger, stats).catch((e: unknown) => e);
    for (let i = 0; i < 1000 && !failMaps; i++) await Promise.resolve();
    expect(failMaps).toBeDefined();
    const good = ingestOne(item('good-copy', async () => maps), bytes, merger, stats);
    for (let i = 0; i < 100; i++) await Promise.resolve();
    failMaps!(new Error('maps document not found'));
    expect(await broken).toBeInstanceOf(InputRejectedError);
    await good;
    expect(stats.shards).toBe(1);
    expect(stats.skipped).toEqual([]);
    expect(counters(merger.result().builds[0]!.coverageMap)).toEqual(countersOf(data));
  });
});

describe('paths', () => {
  it('maps prefixes at segment boundaries and detects a single build prefix', () => {
    const maps = [parsePathMap('/build/app=.'), parsePathMap('C:\\agent\\app=lib')];
    expect(applyPathMap('/build/app/src/a.ts', maps)).toBe('src/a.ts');
    expect(applyPathMap('/build/application/a.ts', maps)).toBe('/build/application/a.ts');
    expect(applyPathMap('C:/agent/app/x.ts', maps)).toBe('lib/x.ts');
    expect(() => parsePathMap('nothing')).toThrow(/FROM=TO/);
    expect(detectBuildPrefix(['/a/src/x.ts', '/b/src/y.ts'], new Set(['src/x.ts', 'src/y.ts']))).toEqual({ kind: 'ambiguous', prefixes: ['/a', '/b'] });
    expect(detectBuildPrefix(['/ci/src/x.ts', '/ci/other.ts'], new Set(['src/x.ts']))).toEqual({ kind: 'detected', prefix: '/ci', matched: 1 });
  });

  it('never lets a key escape the output directory', () => {
    expect(safeJoin('/tmp/out', 'a/b.html')).toBe('/tmp/out/a/b.html');
    for (const bad of ['../../x', 'a/../../x', '/etc/passwd', '..', 'a/\0b']) expect(() => safeJoin('/tmp/out', bad), bad).toThrow(/refusing/);
  });
});

describe('S3 settings', () => {
  it('take flags first, then COVERAGE_S3_*, then the SDK variables, like the aws CLI', () => {
    expect(resolveS3Settings({}, {})).toEqual({ endpointUrl: undefined, forcePathStyle: false, region: 'us-east-1' });
    expect(resolveS3Settings({}, { AWS_ENDPOINT_URL_S3: 'http://sdk:1', AWS_REGION: 'eu-west-1' })).toEqual({ endpointUrl: 'http://sdk:1', forcePathStyle: false, region: 'eu-west-1' });
    expect(resolveS3Settings({}, { COVERAGE_S3_ENDPOINT: 'http://ours:2', AWS_ENDPOINT_URL_S3: 'http://sdk:1', COVERAGE_S3_FORCE_PATH_STYLE: '1' }))
      .toEqual({ endpointUrl: 'http://ours:2', forcePathStyle: true, region: 'us-east-1' });
    expect(resolveS3Settings({ endpointUrl: 'http://flag:3', forcePathStyle: false, region: 'ap-south-1' }, { COVERAGE_S3_ENDPOINT: 'http://ours:2', COVERAGE_S3_FORCE_PATH_STYLE: '1' }))
      .toEqual({ endpointUrl: 'http://flag:3', forcePathStyle: false, region: 'ap-south-1' });
    // As the runtime reads them (runtime/env.ts): the SDK's general endpoint variable last, any flag value.
    expect(resolveS3Settings({}, { AWS_ENDPOINT_URL: 'http://all:4', COVERAGE_S3_FORCE_PATH_STYLE: 'TRUE' }))
      .toEqual({ endpointUrl: 'http://all:4', forcePathStyle: true, region: 'us-east-1' });
    expect(() => resolveS3Settings({}, { COVERAGE_S3_ENDPOINT: 'localhost:9000' })).toThrow(/COVERAGE_S3_ENDPOINT="localhost:9000" must be an http/);
  });
});
