// Per-test coverage in the combiner, on real parts: fixture files instrumented by istanbul-lib-instrument
// and run in a fresh VM context per container, each invocation's counters recorded under the test it
// named (the counters moved while the modules loaded as init), written as version-3 shards to a
// directory and to the local S3-API server, and combined by the real CLI; lcov.info read back by
// Debian's lcov and genhtml.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import vm from 'node:vm';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { combine } from '../../combiner/combine.js';
import { main } from '../../combiner/main.js';
import { CoverageMerger, InputRejectedError } from '../../combiner/merge.js';
import { packShard } from '../../contract/decode.js';
import {
  SHARD_FORMAT, countersToArray, encodeJsonGz, encodeSparse, parseShard, readSparse, type MapsDocument, type Shard, type SparseCounters, type TestRecord,
} from '../../contract/format.js';
import { APP, NODE22, ROOT, instrument, localClient, putShard, toShard, writeShardFiles, type IstanbulData, type Modules } from './helpers.js';
import { startS3Process, type S3Process } from './s3-process.js';

const run = promisify(execFile);
const code = instrument();
let work: string;

beforeAll(() => { work = mkdtempSync(join(tmpdir(), 'lc-pertest-')); });
afterAll(() => { if (process.env.LC_KEEP) console.log(work); else rmSync(work, { recursive: true, force: true }); });

/** One invocation: the tests it named (none: untagged; several: an SQS batch) and what it runs. */
interface Step { tests: string[]; call: (m: Modules) => void }

/** A file's counters in packed order (s, f, then every branch's arms). */
function packed(c: IstanbulData[string]): number[] {
  return [...countersToArray(c.s), ...countersToArray(c.f), ...countersToArray(c.b).flat()];
}

function sparseOf(c: number[]): SparseCounters {
  const offsets = c.flatMap((n, i) => (n > 0 ? [i] : []));
  return encodeSparse(offsets, offsets.map((i) => c[i]!));
}

/**
 * A container as the layer runs one: modules loaded (what moved is init), then each invocation's
 * counters (after less before) added to every test it named. Returns the totals and the records.
 */
function runTagged(steps: Step[], code_ = code): { data: IstanbulData; tests: Record<string, TestRecord>; init: Record<string, SparseCounters> } {
  const context = vm.createContext({});
  const load = (f: string) => {
    const module = { exports: {} as Record<string, unknown> };
    vm.runInContext(`(function (module, exports) {${code_.get(f)}\n})`, context)(module, module.exports);
    return module.exports;
  };
  const loaded = new Map([...code_.keys()].map((f) => [f, load(f)]));
  const m = { calc: loaded.get('src/calc.js'), greet: loaded.get('src/greet.js') } as unknown as Modules;
  const snap = () => {
    const cov = (context as { __coverage__: IstanbulData }).__coverage__;
    return Object.fromEntries(Object.entries(cov).map(([k, v]) => [k, packed(v)]));
  };
  const init = snap();
  const acc: Record<string, { invocations: number; files: Record<string, number[]> }> = {};
  for (const step of steps) {
    const before = snap();
    step.call(m);
    const after = snap();
    for (const name of step.tests) {
      const t = (acc[name] ??= { invocations: 0, files: {} });
      t.invocations++;
      for (const [k, c] of Object.entries(after)) {
        const into = (t.files[k] ??= c.map(() => 0));
        c.forEach((n, i) => { into[i]! += n - before[k]![i]!; });
      }
    }
  }
  const data = JSON.parse(JSON.stringify((context as { __coverage__: IstanbulData }).__coverage__)) as IstanbulData;
  const tests: Record<string, TestRecord> = {};
  for (const [name, t] of Object.entries(acc)) {
    const files: Record<string, SparseCounters> = {};
    for (const [k, c] of Object.entries(t.files)) if (c.some((n) => n > 0)) files[k] = sparseOf(c);
    tests[name] = { invocations: t.invocations, files };
  }
  const initRecs: Record<string, SparseCounters> = {};
  for (const [k, c] of Object.entries(init)) if (c.some((n) => n > 0)) initRecs[k] = sparseOf(c);
  return { data, tests, init: initRecs };
}

/** A version-3 shard of a tagged container. */
function taggedShard(r: ReturnType<typeof runTagged>, meta: Partial<Shard>): { shard: Shard; maps: MapsDocument } {
  const s = toShard(r.data, { invocations: 0, ...meta });
  s.shard.version = 3;
  s.shard.tests = structuredClone(r.tests);
  s.shard.init = structuredClone(r.init);
  s.shard.invocations = meta.invocations ?? Object.values(r.tests).reduce((n, t) => n + t.invocations, 0);
  return s;
}

async function cli(args: string[], cwd = work) {
  let stdout = '';
  let stderr = '';
  const exit = await main(args, { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; }, cwd, env: {}, progress: false });
  return { code: exit, stdout, stderr };
}

const json = (file: string) => JSON.parse(readFileSync(file, 'utf8'));

/** lcov.info as records: per TN and SF, its DA, FNDA and BRDA counts. */
function parseLcov(text: string) {
  const records: { tn: string; sf: string; da: Map<number, number>; fnda: Map<string, number>; brda: Map<string, number> }[] = [];
  let cur: (typeof records)[number] | undefined;
  let tn = '';
  for (const line of text.split('\n')) {
    if (line.startsWith('TN:')) tn = line.slice(3);
    else if (line.startsWith('SF:')) records.push((cur = { tn, sf: line.slice(3), da: new Map(), fnda: new Map(), brda: new Map() }));
    else if (line.startsWith('DA:')) { const [l, n] = line.slice(3).split(','); cur!.da.set(Number(l), Number(n)); }
    else if (line.startsWith('FNDA:')) { const [n, name] = line.slice(5).split(','); cur!.fnda.set(name!, Number(n)); }
    else if (line.startsWith('BRDA:')) { const [l, b, a, n] = line.slice(5).split(','); cur!.brda.set(`${l},${b},${a}`, n === '-' ? 0 : Number(n)); }
  }
  return records;
}

// The hand-made fixture: three tests and an untagged call in one container.
const HAND: Step[] = [
  { tests: ['calc/add'], call: (m) => m.calc.add(1, 2) },
  { tests: ['calc/add'], call: (m) => m.calc.add(3, 4) },
  { tests: ['classify: negative (VIP)'], call: (m) => m.calc.classify(-1) },
  { tests: [], call: (m) => m.greet.greet('x') },
];

describe('combine --per-test on a hand-made fixture', () => {
  let out: string;
  let result: Awaited<ReturnType<typeof cli>>;
  beforeAll(async () => {
    writeShardFiles(join(work, 'hand'), 'coverage/', taggedShard(runTagged(HAND), { containerId: 'h1' }));
    out = join(work, 'hand-out');
    result = await cli(['combine', '--dir', 'hand', '--out', out, '--per-test', '--source-root', APP,
      '--reporter', 'json', '--reporter', 'json-summary', '--reporter', 'html']);
  });

  it('writes coverage-tests.json with each test\'s invocations, functions, and the lines, functions and branch arms it covered', () => {
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/per-test: 2 named tests found \(which test ran each line: .*per-test\/index\.html\)/);
    const doc = json(join(out, 'coverage-tests.json'));
    expect(doc.format).toBe('lambda-coverage/tests');
    expect(doc.tests).toEqual({
      'calc/add': { invocations: 2, functions: ['orders'], files: { 'src/calc.js': { lines: [2], functions: [{ name: 'add', line: 1 }], branches: [] } } },
      'classify: negative (VIP)': {
        invocations: 1, functions: ['orders'],
        files: { 'src/calc.js': { lines: [6, 7], functions: [{ name: 'classify', line: 5 }], branches: [{ line: 6, branch: 0, arm: 0 }] } },
      },
    });
    // Module scope ran at load (module.exports = …): init; greet() was called by no named test.
    expect(doc.init).toEqual({ files: { 'src/calc.js': { lines: [18], functions: [], branches: [] }, 'src/greet.js': { lines: [6], functions: [], branches: [] } } });
    expect(doc.untagged.files['src/greet.js'].lines).toEqual([2, 3]);
    expect(doc.untagged.files['src/greet.js'].functions).toEqual([{ name: 'greet', line: 1 }]);
    expect(doc.untagged.files['src/calc.js']).toBeUndefined();
  });

  it('writes lcov.info with a TN: section per test whose counts add up to the totals, which Debian lcov reads with the same totals', async () => {
    const recs = parseLcov(readFileSync(join(out, 'lcov.info'), 'utf8'));
    expect([...new Set(recs.map((r) => r.tn))]).toEqual(['init', 'calc/add', 'classify: negative (VIP)', 'untagged']);
    const final = json(join(out, 'coverage-final.json')) as IstanbulData;
    for (const [path, fc] of Object.entries(final)) {
      const mine = recs.filter((r) => r.sf === path);
      expect(mine.length, path).toBeGreaterThan(0);
      // Functions and branch arms are counters of their own: the sections add up to them exactly.
      Object.values(fc.fnMap as Record<string, { name: string }>).forEach((fn, i) => {
        expect(mine.reduce((n, r) => n + (r.fnda.get(fn.name) ?? 0), 0), `${path} ${fn.name}`).toBe(fc.f[i]);
      });
      Object.entries(fc.b).forEach(([i, arms]) => arms.forEach((n, j) => {
        const line = (fc.branchMap[i] as unknown as { loc: { start: { line: number } } }).loc.start.line;
        expect(mine.reduce((k, r) => k + (r.brda.get(`${line},${i},${j}`) ?? 0), 0), `${path} b${i}.${j}`).toBe(n);
      }));
      // A line's count is its most-run statement's; covered or not adds up exactly.
      const lineTotals = new Map<number, number>();
      Object.entries(fc.s).forEach(([i, n]) => {
        const line = (fc.statementMap[i] as { start: { line: number } }).start.line;
        lineTotals.set(line, Math.max(lineTotals.get(line) ?? 0, n));
      });
      for (const [line, n] of lineTotals) {
        const sum = mine.reduce((k, r) => k + (r.da.get(line) ?? 0), 0);
        expect(sum > 0, `${path}:${line}`).toBe(n > 0);
        expect(sum).toBeGreaterThanOrEqual(n);
      }
    }
    const summary = json(join(out, 'coverage-summary.json')).total;
    const { stdout, stderr } = await run('/usr/bin/lcov', ['--summary', join(out, 'lcov.info'), '--rc', 'lcov_branch_coverage=1']);
    const text = stdout + stderr;
    expect(text).toContain(`lines......: ${summary.lines.pct.toFixed(1)}% (${summary.lines.covered} of ${summary.lines.total} lines)`);
    expect(text).toContain(`functions..: ${summary.functions.pct.toFixed(1)}% (${summary.functions.covered} of ${summary.functions.total} functions)`);
    expect(text).toContain(`(${summary.branches.covered} of ${summary.branches.total} branches)`);
  });

  it.runIf(existsSync('/usr/bin/genhtml'))('genhtml --show-details accepts lcov.info and lists the tests per file (names with spaces, / and : shown with _, as genhtml 1.16 does)', async () => {
    const html = join(work, 'genhtml');
    const { stderr } = await run('/usr/bin/genhtml', ['--show-details', '--branch-coverage', '-o', html, join(out, 'lcov.info')], { cwd: APP });
    expect(stderr).toMatch(/invalid characters removed from testname/);
    const detail = readFileSync(join(html, 'src/index-detail.html'), 'utf8');
    for (const shown of ['calc_add', 'classify__negative__VIP_', 'init', 'untagged']) expect(detail).toContain(shown);
    expect(readFileSync(join(html, 'src/calc.js.gcov.html'), 'utf8')).toContain('classify');
  });
  it.skipIf(existsSync('/usr/bin/genhtml'))('genhtml --show-details (skipped: Debian\'s lcov package, /usr/bin/genhtml, is not installed)', () => {});

  it('writes per-test/index.html listing the tests, and a page per file saying which tests ran each line, escaped, with no script', () => {
    const index = readFileSync(join(out, 'per-test/index.html'), 'utf8');
    expect(index).toContain('calc/add');
    expect(index).toContain('classify: negative (VIP)');
    expect(index).not.toMatch(/<script|src=|https?:/i);
    const calcPage = /<a href="(f\d+\.html)">src\/calc\.js<\/a>/.exec(index)![1]!;
    const page = readFileSync(join(out, 'per-test', calcPage), 'utf8');
    const row = (line: number) => new RegExp(`<tr class="(\\w*)"><td class="n">${line}</td><td class="n">(\\d*)</td><td class="tests">([^<]*(?:<span class="phase">\\w+</span>)?[^<]*)</td>`).exec(page);
    expect(row(2)!.slice(1)).toEqual(['hit', '2', 'calc/add']);
    expect(row(7)!.slice(1)).toEqual(['hit', '1', 'classify: negative (VIP)']);
    expect(row(9)!.slice(1)).toEqual(['miss', '0', '']);
    expect(row(18)![3]).toBe('<span class="phase">init</span>');
    // The source is shown, escaped (the template literal's quotes and braces are text).
    const greet = readFileSync(join(out, 'per-test', /<a href="(f\d+\.html)">src\/greet\.js<\/a>/.exec(index)![1]!), 'utf8');
    expect(greet).toContain('const text = `hello ${name || &#39;nobody&#39;}`;');
    expect(greet).not.toMatch(/<script/i);
  });

  it('--test NAME reports just that test\'s counters, thresholds included; an unknown name is an error listing the tests there are', async () => {
    const r = await cli(['combine', '--dir', 'hand', '--out', 'only-add', '--test', 'calc/add', '--reporter', 'json', '--reporter', 'json-summary',
      '--check-coverage', '--functions', '30']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/reports of "calc\/add" only/);
    expect(r.stderr).toMatch(/ERROR: Coverage for functions \(25%\) does not meet threshold \(30%\)/);
    const final = json(join(work, 'only-add/coverage-final.json')) as IstanbulData;
    expect(final['src/calc.js']!.f).toEqual({ 0: 2, 1: 0, 2: 0 });
    expect(Object.values(final['src/greet.js']!.s).every((n) => n === 0)).toBe(true);
    // Two tests and init: summed.
    const two = await cli(['combine', '--dir', 'hand', '--out', 'two', '--test', 'calc/add', '--test', 'init', '--reporter', 'json']);
    expect(two.code, two.stderr).toBe(0);
    const both = json(join(work, 'two/coverage-final.json')) as IstanbulData;
    expect(both['src/calc.js']!.s).toEqual({ ...Object.fromEntries(Object.keys(final['src/calc.js']!.s).map((k) => [k, 0])), 0: 2, 7: 1 });
    const bad = await cli(['combine', '--dir', 'hand', '--out', 'bad', '--test', 'calc/ad']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--test "calc\/ad": no such test; the tests are "calc\/add", "classify: negative \(VIP\)", and init and untagged/);
    expect(existsSync(join(work, 'bad'))).toBe(false);
  });
});

/** The merged per-test counters of a merger's first build: section → path → packed counters. */
function perTestOf(merger: CoverageMerger): Record<string, Record<string, number[]>> {
  const out: Record<string, Record<string, number[]>> = {};
  for (const f of merger.result().builds[0]!.files) {
    for (const [name, c] of f.perTest ?? []) (out[name] ??= {})[f.path] = Array.from(c);
  }
  return out;
}

/** What the records of several containers add up to, counted by hand from the sparse records. */
function sumRecords(runs: ReturnType<typeof runTagged>[], data: IstanbulData): Record<string, Record<string, number[]>> {
  const out: Record<string, Record<string, number[]>> = {};
  const add = (name: string, files: Record<string, SparseCounters>) => {
    for (const [path, rec] of Object.entries(files)) {
      const into = ((out[name] ??= {})[path] ??= packed(data[path]!).map(() => 0));
      readSparse(rec, into.length, (o, c) => { into[o]! += c; });
    }
  };
  for (const r of runs) {
    for (const [name, t] of Object.entries(r.tests)) add(name, t.files);
    add('init', r.init);
  }
  return out;
}

const info = (source: string) => ({ source, time: Date.parse('2026-11-01T10:00:00Z') });
const STEPS = (c: number): Step[] => [
  { tests: ['checkout/pays with card'], call: (m) => { m.calc.add(c, 1); m.calc.classify(500); } },
  { tests: ['orders:create (VIP)'], call: (m) => m.calc.classify(c) },
  { tests: [], call: (m) => m.greet.greet('', true) },
  { tests: ['checkout/pays with card', 'orders:create (VIP)'], call: (m) => m.greet.greet() }, // an SQS batch naming both
];

describe('merging per-test records', () => {
  it('sums two containers of one function exactly, and counts a container read twice once', async () => {
    const runs = [runTagged(STEPS(0)), runTagged(STEPS(-3))];
    const merger = new CoverageMerger();
    runs.forEach((r, c) => { const s = taggedShard(r, { containerId: `c${c}` }); merger.addShard(parseShard(JSON.parse(JSON.stringify(s.shard))), s.maps, info(`c${c}`)); });
    expect(perTestOf(merger)).toEqual(sumRecords(runs, runs[0]!.data));
    expect(merger.tests()).toEqual([
      { name: 'checkout/pays with card', invocations: 4, functions: ['orders'] },
      { name: 'orders:create (VIP)', invocations: 4, functions: ['orders'] },
    ]);
    // The same on disk, with a copy of one container's shard in a second directory: counted once.
    const dir = join(work, 'two');
    runs.forEach((r, c) => writeShardFiles(dir, 'coverage/', taggedShard(r, { containerId: `c${c}` })));
    cpSync(join(dir, 'coverage'), join(work, 'two-copy/coverage'), { recursive: true });
    const r = await cli(['combine', '--dir', 'two', '--dir', 'two-copy', '--out', 'two-out', '--per-test', '--reporter', 'json', '--threads', '0']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/read 2 shards/);
    expect(r.stderr).toMatch(/same function and container \(orders, c0\)/);
    const doc = json(join(work, 'two-out/coverage-tests.json'));
    expect(doc.tests['checkout/pays with card'].invocations).toBe(4);
    // The batch's greet() counted in each test it named; untagged is what is left, at least 0.
    expect(doc.tests['orders:create (VIP)'].files['src/greet.js'].lines).toEqual([2, 3]);
    // greet() ran twice per container: once untagged, once in the batch, which counts it in both tests
    // (2 + 2 over the totals' 4): untagged clamps at 0 there, as documented. Its `'nobody'` arm ran only untagged.
    expect(doc.untagged.files['src/greet.js'].functions).toEqual([]);
    expect(doc.untagged.files['src/greet.js'].branches).toContainEqual({ line: 2, branch: 1, arm: 1 });
  });

  it('per-test counters saturate at Number.MAX_SAFE_INTEGER as the totals do, and their file is named', () => {
    const r = runTagged(STEPS(0));
    const huge = structuredClone(r);
    // One counter of the test's first file at the bound in its record (the totals stay small, so the
    // file is named for the test's counters alone).
    const name = 'checkout/pays with card';
    const [path, rec] = Object.entries(huge.tests[name]!.files)[0]! as [string, number[]];
    rec[1] = Number.MAX_SAFE_INTEGER;
    const first = rec[0]!; // the record's first offset, in packed order
    const merger = new CoverageMerger();
    for (const [c, run] of [huge, r, huge].entries()) {
      const s = taggedShard(run, { containerId: `c${c}` });
      merger.addShard(parseShard(JSON.parse(JSON.stringify(s.shard))), s.maps, info(`c${c}`));
    }
    const result = merger.result();
    expect(result.saturated).toContain(path);
    expect(perTestOf(merger)[name]![path]![first]).toBe(Number.MAX_SAFE_INTEGER);
    expect(perTestOf(merger)).toEqual(Object.fromEntries(Object.entries(sumRecords([huge, r, huge], r.data)).map(([t, files]) => [t,
      Object.fromEntries(Object.entries(files).map(([p, c]) => [p, c.map((n) => Math.min(n, Number.MAX_SAFE_INTEGER))]))])));
  });

  it('newest wins: an older version of a file is dropped with its per-test counters; its tests stay listed', () => {
    const changed = instrument(['src/calc.js', 'src/greet.js'], (f) => {
      const src = readFileSync(join(APP, f), 'utf8');
      return f === 'src/greet.js' ? `${src}\nfunction extra() { return 1; }\n` : src;
    });
    const old = runTagged([{ tests: ['old test'], call: (m) => { m.greet.greet('a'); m.calc.add(1, 1); } }]);
    const now = runTagged([{ tests: ['new test'], call: (m) => { m.greet.greet('b'); m.calc.add(2, 2); } }], changed);
    const merger = new CoverageMerger();
    const a = taggedShard(old, { containerId: 'old', startedAt: '2026-11-01T09:00:00.000Z' });
    const b = taggedShard(now, { containerId: 'new', startedAt: '2026-11-01T10:00:00.000Z' });
    merger.addShard(a.shard, a.maps, info('old'));
    merger.addShard(b.shard, b.maps, info('new'));
    const result = merger.result();
    expect(result.dropped.map((d) => d.path)).toEqual(['src/greet.js']);
    const per = perTestOf(merger);
    expect(Object.keys(per['old test']!)).toEqual(['src/calc.js']); // calc.js is one version: both tests kept
    expect(Object.keys(per['new test']!).sort()).toEqual(['src/calc.js', 'src/greet.js']);
    expect(per['new test']!['src/greet.js']).toEqual(sumRecords([now], now.data)['new test']!['src/greet.js']);
    expect(result.tests.map((t) => t.name)).toEqual(['new test', 'old test']);
  });

  it('is associative through --as-shard: combine(combine(A, B), C) gives the per-test result of combine(A, B, C)', async () => {
    const A = taggedShard(runTagged(STEPS(1)), { containerId: 'a' });
    const B = taggedShard(runTagged(STEPS(2).slice(1)), { containerId: 'b', functionName: 'billing' });
    const C = taggedShard(runTagged([{ tests: ['only in C'], call: (m) => m.calc.unused() }, ...STEPS(3)]), { containerId: 'c', functionName: 'api' });
    writeShardFiles(join(work, 'ab'), 'coverage/', A);
    writeShardFiles(join(work, 'ab'), 'coverage/', B);
    writeShardFiles(join(work, 'c'), 'coverage/', C);
    writeShardFiles(join(work, 'abc'), 'coverage/', A);
    writeShardFiles(join(work, 'abc'), 'coverage/', B);
    writeShardFiles(join(work, 'abc'), 'coverage/', C);
    const args = ['--per-test', '--reporter', 'json', '--reporter', 'lcovonly', '--source-root', APP];
    const flat = await cli(['combine', '--dir', 'abc', '--out', 'flat', ...args]);
    expect(flat.code, flat.stderr).toBe(0);
    const part = await cli(['combine', '--dir', 'ab', '--out', 'ab-out', '--reporter', 'none', '--as-shard', 'partial/coverage/ab/shards/part-1.json.gz']);
    expect(part.code, part.stderr).toBe(0);
    const written = parseShard(JSON.parse(gunzipSync(readFileSync(join(work, 'partial/coverage/ab/shards/part-1.json.gz'))).toString()));
    expect(written.version).toBe(3);
    expect(written.tests!['orders:create (VIP)']!.functions).toEqual(['billing', 'orders']);
    const tree = await cli(['combine', '--dir', 'partial', '--dir', 'c', '--out', 'tree', ...args]);
    expect(tree.code, tree.stderr).toBe(0);
    expect(readFileSync(join(work, 'tree/coverage-tests.json'), 'utf8')).toBe(readFileSync(join(work, 'flat/coverage-tests.json'), 'utf8'));
    expect(readFileSync(join(work, 'tree/lcov.info'), 'utf8')).toBe(readFileSync(join(work, 'flat/lcov.info'), 'utf8'));
    expect(readFileSync(join(work, 'tree/coverage-final.json'), 'utf8')).toBe(readFileSync(join(work, 'flat/coverage-final.json'), 'utf8'));
    const doc = json(join(work, 'flat/coverage-tests.json'));
    expect(doc.tests['orders:create (VIP)'].functions).toEqual(['api', 'billing', 'orders']);
    expect(doc.tests['only in C'].functions).toEqual(['api']);
  });
});

describe('hostile per-test records', () => {
  it('refuses a shard with a bad test name, an offset past the end, a file it lacks or too many tests, whole and named', async () => {
    const good = runTagged(STEPS(0));
    const dir = join(work, 'hostile/coverage/orders/shards');
    const put = (name: string, edit: (s: Shard) => void) => {
      const s = taggedShard(good, { containerId: name });
      edit(s.shard);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `${name}.json.gz`), encodeJsonGz(s.shard));
      return s;
    };
    const ok = put('ok', () => {});
    mkdirSync(join(work, 'hostile/coverage/orders/maps'), { recursive: true });
    writeFileSync(join(work, 'hostile/coverage/orders/maps', `${ok.shard.mapId}.json.gz`), encodeJsonGz(ok.maps));
    const rec = (s: Shard) => s.tests!['checkout/pays with card']!;
    put('comma', (s) => { s.tests = { 'a,b': rec(s) }; });
    put('markup', (s) => { s.tests = { '<img src=x onerror=alert(1)>': rec(s) }; });
    put('past', (s) => { rec(s).files['src/greet.js'] = [9999, 1]; });
    put('init-past', (s) => { s.init!['src/calc.js'] = [0, 1, 500, 1]; });
    put('lacks', (s) => { rec(s).files['src/other.js'] = [0, 1]; });
    put('zero', (s) => { rec(s).files['src/calc.js'] = [0, 0]; });
    put('many', (s) => { s.tests = Object.fromEntries(['t1', 't2', 't3'].map((n) => [n, rec(s)])); });
    put('v2', (s) => { s.version = 2; });
    const r = await cli(['combine', '--dir', 'hostile', '--out', 'hostile-out', '--per-test', '--reporter', 'json', '--max-tests', '2', '--threads', '0']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/read 1 shard /);
    expect(r.stderr).toMatch(/skipped 8 \(8 invalid\)/);
    expect(r.stderr).toMatch(/comma\.json\.gz: test name "a,b" has a character outside/);
    expect(r.stderr).toMatch(/markup\.json\.gz: test name .* has a character outside/);
    expect(r.stderr).toMatch(/past\.json\.gz: test "checkout\/pays with card": file "src\/greet\.js" names counter 9999, past the file's \d+ counters/);
    expect(r.stderr).toMatch(/init-past\.json\.gz: "init": file "src\/calc\.js" names counter 501/);
    expect(r.stderr).toMatch(/lacks\.json\.gz: test "checkout\/pays with card": names file "src\/other\.js", which the shard's "files" does not carry/);
    expect(r.stderr).toMatch(/zero\.json\.gz: test "checkout\/pays with card": file "src\/calc\.js" has count 0/);
    expect(r.stderr).toMatch(/many\.json\.gz: 3 tests, over the bound of 2 \(raise it with --max-tests/);
    expect(r.stderr).toMatch(/v2\.json\.gz: "tests" and "init" come in version 3 shards only/);
    // Nothing of the refused shards is in any output.
    const doc = json(join(work, 'hostile-out/coverage-tests.json'));
    expect(Object.keys(doc.tests)).toEqual(['checkout/pays with card', 'orders:create (VIP)']);
    expect(doc.tests['checkout/pays with card'].invocations).toBe(2);
    expect(readFileSync(join(work, 'hostile-out/per-test/index.html'), 'utf8')).not.toMatch(/onerror|<img/);
  });

  it('the merger refuses hostile packed records handed to it directly (the library API), leaving nothing added', () => {
    const s = taggedShard(runTagged(STEPS(0)), { containerId: 'p' });
    const merger = new CoverageMerger();
    merger.addShard(s.shard, s.maps, info('first'));
    const before = perTestOf(merger);
    const base = () => packShard(parseShard(JSON.parse(JSON.stringify({ ...s.shard, containerId: 'q' }))));
    const cases: [string, (p: ReturnType<typeof base>) => void, RegExp][] = [
      ['offset past the end', (p) => { p.perTest!.pairs[p.perTest!.pairs.length - 2] = 1e6; }, /names counter 1000000, past the file's/],
      ['a file index', (p) => { p.perTest!.spans[1] = 7; }, /names file 7, of 2/],
      ['a test index', (p) => { p.perTest!.spans[0] = 9; }, /names test 9, of 2/],
      ['pairs out of range', (p) => { p.perTest!.spans[3] = 1e6; }, /are not within the \d+ read/],
      ['a fractional count', (p) => { p.perTest!.pairs[1] = 0.5; }, /has count 0\.5/],
      ['a bad name', (p) => { p.perTest!.tests[0]!.name = 'x\ny'; }, /test name "x\\ny" has a character outside/],
      ['a name twice', (p) => { p.perTest!.tests[1]!.name = p.perTest!.tests[0]!.name; }, /is listed twice/],
      ['no invocations', (p) => { p.perTest!.tests[0]!.invocations = 0; }, /"invocations" must be a positive integer/],
    ];
    for (const [name, edit, message] of cases) {
      const p = base();
      edit(p);
      expect(() => merger.addPacked(p, s.maps, info(name)), name).toThrow(InputRejectedError);
      expect(() => merger.addPacked(p, s.maps, info(name)), name).toThrow(message);
    }
    expect(merger.inputs).toBe(1);
    expect(perTestOf(merger)).toEqual(before);
    expect(merger.tests().map((t) => t.invocations)).toEqual([2, 2]);
  });
});

describe('from the local S3-API server, decoded on worker threads', () => {
  let s3: S3Process;
  beforeAll(async () => { s3 = await startS3Process(['pertest']); }, 60_000);
  afterAll(async () => { await s3?.stop(); });

  it('reads tagged shards of two functions from S3 and uploads the per-test outputs; worker threads and the main thread agree', async () => {
    const client = localClient(s3.endpoint);
    const runs = Array.from({ length: 6 }, (_, c) => runTagged(STEPS(c - 2)));
    for (const [c, r] of runs.entries()) await putShard(client, 'pertest', 'coverage/', taggedShard(r, { containerId: `s${c}`, functionName: c % 2 ? 'api' : 'queue' }), c < 2);
    client.destroy();
    const opts = { bucket: 'pertest', endpointUrl: s3.endpoint, forcePathStyle: true, cwd: work, perTest: true, reporters: ['json'], sourceRoot: null,
      env: { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' } };
    const inline = await combine({ ...opts, out: 's3-inline', threads: 0, upload: true, outputPrefix: 'reports/pertest/' });
    expect(inline.summary.shards).toBe(6);
    expect(inline.summary.tests).toMatchObject({ found: 2 });
    expect(inline.uploaded!.keys).toEqual(expect.arrayContaining(['reports/pertest/lcov.info', 'reports/pertest/coverage-tests.json', 'reports/pertest/per-test/index.html']));
    const doc = json(join(work, 's3-inline/coverage-tests.json'));
    expect(doc.tests['orders:create (VIP)'].functions).toEqual(['api', 'queue']);
    expect(doc.tests['orders:create (VIP)'].invocations).toBe(12);
    // The built CLI decodes on worker threads (the compiled decode-worker.js), handing the pairs over.
    const cliPath = join(ROOT, 'dist/combiner/cli.js');
    const { stderr } = await run(NODE22, [cliPath, 'combine', '--bucket', 'pertest', '--endpoint-url', s3.endpoint, '--force-path-style',
      '--out', 's3-threads', '--per-test', '--reporter', 'json', '--threads', '2', '--source-root', APP],
    { cwd: work, env: { PATH: process.env.PATH ?? '', HOME: work, ...opts.env } });
    expect(stderr).toMatch(/read 6 shards/);
    for (const f of ['coverage-tests.json', 'lcov.info', 'coverage-final.json']) {
      expect(readFileSync(join(work, 's3-threads', f), 'utf8'), f).toBe(readFileSync(join(work, 's3-inline', f), 'utf8'));
    }
  }, 60_000);
});
