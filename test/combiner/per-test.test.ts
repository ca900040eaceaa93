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
  s.shard.tests = r.tests;
  s.shard.init = r.init;
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
