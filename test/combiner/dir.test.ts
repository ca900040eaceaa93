// The CLI in-process (main(argv)) over a directory of real shards, nyc output and corrupt inputs;
// every report checked by an independent reader (Debian lcov, nyc report, Cobertura XML, Chromium).
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../combiner/main.js';
import { encodeJsonGz } from '../../contract/format.js';
import { chromiumAvailable, dumpDom } from '../../scripts/local/chromium.mjs';
import { APP, NODE22, ROOT, instrument, invoke, runContainer, sumData, toShard, writeShardFiles, type IstanbulData } from './helpers.js';

const run = promisify(execFile);
let work: string;
let input: string;
let good: IstanbulData[];
let nycData: IstanbulData;

async function cli(args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; }, cwd: work, env: {}, progress: false });
  return { code, stdout, stderr };
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'lc-comb-dir-'));
  input = join(work, 'input');
  const code = instrument();
  good = [0, 1, 2].map((c) => runContainer(code, (m) => [c, c + 3, c + 6].forEach((i) => invoke(m, i))));
  good.forEach((d, c) => writeShardFiles(input, 'coverage/', toShard(d, { containerId: `c${c}`, invocations: 3 })));

  // A unit-test run instrumented by nyc on a CI agent: absolute paths, another hash, same maps.
  const absCode = instrument(['src/calc.js', 'src/greet.js'].map((f) => `/home/ci/app/${f}`), (f) => readFileSync(join(APP, f.replace('/home/ci/app/', '')), 'utf8'));
  const absLoaded = new Map([...absCode].map(([k, v]) => [k.replace('/home/ci/app/', ''), v]));
  nycData = runContainer(absLoaded, (m) => { m.calc.unused(); m.greet.greet('x', true); });
  mkdirSync(join(input, '.nyc_output/processinfo'), { recursive: true });
  writeFileSync(join(input, '.nyc_output/6f1e.json'), JSON.stringify(nycData));
  writeFileSync(join(input, '.nyc_output/processinfo/6f1e.json'), JSON.stringify({ pid: 1, argv: [] }));

  // Corrupt inputs, each must be refused whole with its reason.
  const bad = join(input, 'coverage/orders/shards');
  const shard = toShard(good[0]!, { containerId: 'x' });
  const full = encodeJsonGz(shard.shard);
  writeFileSync(join(bad, 'truncated.json.gz'), full.subarray(0, Math.floor(full.length / 2)));
  writeFileSync(join(bad, 'bogus.json'), '{"format": "lambda-coverage/shard", "files": {');
  const withNull = JSON.parse(JSON.stringify({ ...shard.shard, containerId: 'x-null' }));
  withNull.files['src/calc.js'].s[0] = null;
  writeFileSync(join(bad, 'null-counter.json.gz'), encodeJsonGz(withNull));
  const longer = JSON.parse(JSON.stringify({ ...shard.shard, containerId: 'x-long' }));
  longer.files['src/greet.js'].f.push(3);
  writeFileSync(join(bad, 'wrong-length.json.gz'), encodeJsonGz(longer));
  writeFileSync(join(bad, 'future.json.gz'), encodeJsonGz({ ...shard.shard, containerId: 'x-future', version: 4 }));
  writeFileSync(join(bad, 'no-maps.json.gz'), encodeJsonGz({ ...shard.shard, containerId: 'x-nomaps', mapId: 'feedfacefeedfacefeedfacefeedface' }));
  writeFileSync(join(input, 'package.json'), JSON.stringify({ name: 'not-coverage', version: '1.0.0' }));
  const negative = JSON.parse(JSON.stringify(good[1])) as IstanbulData;
  negative['src/calc.js']!.s['0'] = -1;
  writeFileSync(join(input, 'coverage-final.json'), JSON.stringify(negative));
  // A previous run's output, as `aws s3 sync` of the prefix brings it down: never read again.
  mkdirSync(join(input, 'coverage/combined/run-1'), { recursive: true });
  writeFileSync(join(input, 'coverage/combined/run-1/coverage-final.json'), JSON.stringify(good[0]));
});

afterAll(() => { rmSync(work, { recursive: true, force: true }); });

describe('combine --dir (in-process main)', () => {
  let result: Awaited<ReturnType<typeof cli>>;
  const expected = () => {
    const mapped: IstanbulData = {};
    for (const [k, v] of Object.entries(nycData)) mapped[k.replace('/home/ci/app/', '')] = v;
    return sumData([...good, mapped]);
  };

  beforeAll(async () => {
    result = await cli(['combine', '--dir', 'input', '--out', 'report', '--source-root', APP,
      '--reporter', 'text-summary', '--reporter', 'html', '--reporter', 'lcov', '--reporter', 'cobertura',
      '--reporter', 'json', '--reporter', 'json-summary']);
  });

  it('merges the good inputs exactly and refuses each corrupt one with its reason', () => {
    expect(result.code, result.stderr).toBe(0);
    const final = JSON.parse(readFileSync(join(work, 'report/coverage-final.json'), 'utf8')) as IstanbulData;
    expect(Object.keys(final).sort()).toEqual(['src/calc.js', 'src/greet.js']);
    for (const [k, v] of Object.entries(expected())) {
      expect(final[k]!.path).toBe(k);
      expect({ s: final[k]!.s, f: final[k]!.f, b: final[k]!.b }).toEqual({ s: v.s, f: v.f, b: v.b });
    }
    const err = result.stderr;
    expect(err).toMatch(/read 3 shards and 1 coverage file .* from 1 function \(orders\), 9 invocations/);
    expect(err).toMatch(/skipped 8 \(8 invalid\)/);
    expect(err).toMatch(/truncated\.json\.gz: not valid gzip/);
    expect(err).toMatch(/bogus\.json: not valid JSON .* truncated/);
    expect(err).toMatch(/null-counter\.json\.gz: file "src\/calc\.js": "s" must be an array of non-negative integers/);
    expect(err).toMatch(/wrong-length\.json\.gz: file src\/greet\.js: has 2 function counters, its map has 1/);
    expect(err).toMatch(/future\.json\.gz: lambda-coverage\/shard version 4 is not supported .* upgrade/);
    expect(err).toMatch(/no-maps\.json\.gz: maps document feedface\w+ not found/);
    expect(err).toMatch(/package\.json: entry "name": not a file coverage object/);
    expect(err).toMatch(/coverage-final\.json: entry "src\/calc\.js": s\[0\] is -1/);
    expect(err).toMatch(/paths: build-machine prefix \/home\/ci\/app mapped to \. \(2 files\)/);
    expect(err).not.toMatch(/processinfo/);
    expect(result.stdout).toMatch(/Statements\s+: [\d.]+% \( \d+\/\d+ \)/);
  });

  it('Debian lcov reads lcov.info with the same totals as json-summary', async () => {
    const summary = JSON.parse(readFileSync(join(work, 'report/coverage-summary.json'), 'utf8')).total;
    const { stdout, stderr } = await run('/usr/bin/lcov', ['--summary', join(work, 'report/lcov.info'), '--rc', 'lcov_branch_coverage=1']);
    const text = stdout + stderr;
    expect(text).toContain(`lines......: ${summary.lines.pct.toFixed(1)}% (${summary.lines.covered} of ${summary.lines.total} lines)`);
    expect(text).toContain(`functions..: ${summary.functions.pct.toFixed(1)}% (${summary.functions.covered} of ${summary.functions.total} functions)`);
    expect(text).toContain(`(${summary.branches.covered} of ${summary.branches.total} branches)`);
  });

  it("nyc report reads coverage-final.json and agrees with json-summary", async () => {
    const temp = join(work, 'nyc-temp');
    mkdirSync(temp, { recursive: true });
    writeFileSync(join(temp, 'out.json'), readFileSync(join(work, 'report/coverage-final.json')));
    await run(NODE22, [join(ROOT, 'node_modules/nyc/bin/nyc.js'), 'report', '--temp-dir', temp, '--reporter', 'json-summary', '--report-dir', join(work, 'nyc-report')], { cwd: work });
    const ours = JSON.parse(readFileSync(join(work, 'report/coverage-summary.json'), 'utf8'));
    const theirs = JSON.parse(readFileSync(join(work, 'nyc-report/coverage-summary.json'), 'utf8'));
    expect(theirs.total).toEqual(ours.total);
    expect(theirs['src/calc.js'] ?? theirs[join(work, 'src/calc.js')]).toEqual(ours['src/calc.js']);
  });

  it('the Cobertura XML carries the same line and branch rates', () => {
    const xml = readFileSync(join(work, 'report/cobertura-coverage.xml'), 'utf8');
    const summary = JSON.parse(readFileSync(join(work, 'report/coverage-summary.json'), 'utf8')).total;
    const root = /<coverage ([^>]*)>/.exec(xml)![1]!;
    const attr = (n: string) => Number(new RegExp(`${n}="([^"]*)"`).exec(root)![1]);
    expect(attr('lines-valid')).toBe(summary.lines.total);
    expect(attr('lines-covered')).toBe(summary.lines.covered);
    expect(attr('branches-valid')).toBe(summary.branches.total);
    expect(attr('line-rate')).toBeCloseTo(summary.lines.covered / summary.lines.total, 3);
    expect(xml).toContain(`<source>${APP}</source>`);
    // Each class's own <lines> (not its methods'), counted line by line, gives each file's lines.
    const perFile = JSON.parse(readFileSync(join(work, 'report/coverage-summary.json'), 'utf8')) as Record<string, { lines: { total: number; covered: number } }>;
    const classes = [...xml.matchAll(/<class [^>]*filename="([^"]+)"[^>]*>([\s\S]*?)<\/class>/g)];
    expect(classes.map((c) => c[1]).sort()).toEqual(['src/calc.js', 'src/greet.js']);
    for (const [, file, body] of classes) {
      const own = body!.replace(/<methods>[\s\S]*?<\/methods>/, '');
      const hits = [...own.matchAll(/<line number="\d+" hits="(\d+)"/g)].map((m) => Number(m[1]));
      expect({ total: hits.length, covered: hits.filter((h) => h > 0).length }, file).toEqual({ total: perFile[file!]!.lines.total, covered: perFile[file!]!.lines.covered });
    }
  });

  it.runIf(chromiumAvailable())('headless Chromium shows the json-summary totals and the source on the HTML pages', async () => {
    const summary = JSON.parse(readFileSync(join(work, 'report/coverage-summary.json'), 'utf8')).total;
    const dom = await dumpDom(join(work, 'report/index.html'));
    const fractions = [...dom.matchAll(/<span class="strong">([\d.]+)% <\/span>\s*<span class="quiet">(\w+)<\/span>\s*<span class="fraction">(\d+)\/(\d+)<\/span>/g)]
      .map((m) => [m[2]!.toLowerCase(), Number(m[3]), Number(m[4])]);
    expect(fractions).toEqual(['statements', 'branches', 'functions', 'lines'].map((k) => [k, summary[k].covered, summary[k].total]));
    const page = await dumpDom(join(work, 'report/calc.js.html'));
    expect(page).toContain('classify');
  });

  it('--check-coverage prints one ERROR line per failed metric and exits 1', async () => {
    const r = await cli(['combine', '--dir', 'input/coverage', '--out', 'r2', '--reporter', 'json-summary', '--check-coverage', '--lines', '99', '--functions', '10', '--statements', '99.5']);
    expect(r.code).toBe(1);
    const summary = JSON.parse(readFileSync(join(work, 'r2/coverage-summary.json'), 'utf8')).total;
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('ERROR:'));
    expect(errors).toEqual([
      `ERROR: Coverage for lines (${summary.lines.pct}%) does not meet threshold (99%)`,
      `ERROR: Coverage for statements (${summary.statements.pct}%) does not meet threshold (99.5%)`,
    ]);
    expect((await cli(['combine', '--dir', 'input', '--out', 'r2', '--reporter', 'none', '--check-coverage', '--lines', '50'])).code).toBe(0);
    const unchecked = await cli(['combine', '--dir', 'input/coverage', '--out', 'r2', '--reporter', 'none', '--lines', '99']);
    expect(unchecked.code).toBe(0);
    expect(unchecked.stderr).toContain('thresholds are only checked with --check-coverage');
    expect(unchecked.stderr).not.toContain('ERROR:');
    mkdirSync(join(work, 'empty'), { recursive: true });
    const empty = await cli(['combine', '--dir', 'empty', '--out', 'r2', '--reporter', 'none', '--check-coverage']);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain('ERROR: No coverage data to check (0 shards and 0 coverage files read)');
    expect(empty.stderr).toContain('nothing read: check --bucket, --prefix');
  });

  it('--max-invalid turns refused inputs into a failure (exit 2) and still says which', async () => {
    const r = await cli(['combine', '--dir', 'input', '--out', 'r3', '--max-invalid', '7']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/8 invalid input\(s\), more than --max-invalid 7; no report written/);
    expect(r.stderr).toMatch(/truncated\.json\.gz/);
    expect(existsSync(join(work, 'r3'))).toBe(false);
  });

  it('says which files have no source instead of failing, and the HTML page says so too', async () => {
    const r = await cli(['combine', '--dir', 'input', '--out', 'r4', '--reporter', 'html', '--source-root', join(work, 'nowhere')]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/no source for 2 files .*\n\s+src\/calc\.js\n\s+src\/greet\.js/);
    const page = readFileSync(join(work, 'r4/calc.js.html'), 'utf8');
    expect(page).toContain("Source not shown: this file was not found under the report's --source-root.");
  });

  it('counts a container once when its shard is given twice (a bucket copy and a local copy)', async () => {
    const copy = join(work, 'copy');
    writeShardFiles(copy, 'coverage/', toShard(good[1]!, { containerId: 'c1', invocations: 3 }));
    const once = await cli(['combine', '--dir', 'input/coverage', '--out', 'once', '--reporter', 'json']);
    const twice = await cli(['combine', '--dir', 'input/coverage', '--dir', 'copy', '--out', 'twice', '--reporter', 'json']);
    expect(twice.code).toBe(0);
    // Whichever copy is read second is the one left out.
    expect(twice.stderr).toMatch(/ignored .*(copy|input)\/coverage\/orders\/shards\/c1\.json\.gz: same function and container \(orders, c1\) as .*(input|copy)\/coverage\/orders\/shards\/c1\.json\.gz/);
    expect(readFileSync(join(work, 'twice/coverage-final.json'), 'utf8')).toBe(readFileSync(join(work, 'once/coverage-final.json'), 'utf8'));
    expect(once.code).toBe(0);
    // A copy that is refused (its maps are missing) does not hide the good one, whichever is read first.
    const broken = join(work, 'broken-copy/coverage/orders/shards');
    mkdirSync(broken, { recursive: true });
    writeFileSync(join(broken, 'c1.json.gz'), readFileSync(join(copy, 'coverage/orders/shards/c1.json.gz')));
    for (const dirs of [['broken-copy', 'input/coverage'], ['input/coverage', 'broken-copy']]) {
      const r = await cli(['combine', ...dirs.flatMap((d) => ['--dir', d]), '--out', 'broken', '--reporter', 'json']);
      expect(r.code, r.stderr).toBe(0);
      // Refused when read first; left out as a copy when the good one was already counted.
      expect(r.stderr).toMatch(/(invalid|ignored) .*broken-copy\/coverage\/orders\/shards\/c1\.json\.gz: (maps document \w+ not found|same function and container)/);
      expect(readFileSync(join(work, 'broken/coverage-final.json'), 'utf8')).toBe(readFileSync(join(work, 'once/coverage-final.json'), 'utf8'));
    }
  });

  it('--as-shard partial results of one tree level count once each, even with one --run-id; a copy of one counts once', async () => {
    // Level 1: the shards in one partition, the nyc output in another, both with the same run id.
    const a = await cli(['combine', '--dir', 'input/coverage', '--out', 'p-a', '--reporter', 'none', '--run-id', 'build-7', '--as-shard', 'parts/t/a/shards/part.json.gz']);
    // Alone, the CI agent's absolute paths match no path of the project: mapped by hand.
    const b = await cli(['combine', '--dir', 'input/.nyc_output', '--path-map', '/home/ci/app=.', '--out', 'p-b', '--reporter', 'none', '--run-id', 'build-7', '--as-shard', 'parts/t/b/shards/part.json.gz']);
    expect([a.code, b.code], a.stderr + b.stderr).toEqual([0, 0]);
    const flat = await cli(['combine', '--dir', 'input/coverage', '--dir', 'input/.nyc_output', '--out', 'p-flat', '--reporter', 'json']);
    const tree = await cli(['combine', '--dir', 'parts', '--out', 'p-tree', '--reporter', 'json']);
    expect(tree.code, tree.stderr).toBe(0);
    expect(tree.stderr).toMatch(/read 2 shards/);
    expect(readFileSync(join(work, 'p-tree/coverage-final.json'), 'utf8')).toBe(readFileSync(join(work, 'p-flat/coverage-final.json'), 'utf8'));
    expect(flat.code).toBe(0);
    // The same partial result copied elsewhere is the same inputs: counted once.
    cpSync(join(work, 'parts/t/a'), join(work, 'parts-copy/t/c'), { recursive: true });
    const twice = await cli(['combine', '--dir', 'parts', '--dir', 'parts-copy', '--out', 'p-twice', '--reporter', 'json']);
    expect(twice.stderr).toMatch(/ignored .*\/t\/[ac]\/shards\/part\.json\.gz: a merged result of the same inputs as .*\/t\/[ac]\/shards\/part\.json\.gz; counted once/);
    expect(readFileSync(join(work, 'p-twice/coverage-final.json'), 'utf8')).toBe(readFileSync(join(work, 'p-flat/coverage-final.json'), 'utf8'));
  });

  it('--max-* bounds skip an input over them, name the flag, and go on; bad values are usage errors', async () => {
    const r = await cli(['combine', '--dir', 'input/coverage/orders/shards/c0.json.gz', '--dir', 'input/.nyc_output', '--max-files', '1', '--out', 'bounded', '--reporter', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/invalid .*c0\.json\.gz: more files, over the bound of 1 \(raise it with --max-files/);
    expect(r.stderr).toMatch(/invalid .*6f1e\.json: 2 files, over the bound of 1 \(raise it with --max-files/);
    const tiny = await cli(['combine', '--dir', 'input/coverage/orders/shards/c0.json.gz', '--max-shard-mb', '0.0001', '--out', 'bounded', '--reporter', 'json']);
    expect(tiny.stderr).toMatch(/c0\.json\.gz: \d+ bytes stored, over the bound of 105 bytes \(raise it with --max-shard-mb/);
    const bad = await cli(['combine', '--dir', 'input', '--max-counters', 'lots']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--max-counters must be a whole number ≥ 1, not "lots"/);
  });

  it('draws a progress bar on a terminal (stderr) and none otherwise', async () => {
    let stderr = '';
    const code = await main(['combine', '--dir', 'input/coverage', '--out', 'r6', '--reporter', 'none'], { stdout: () => {}, stderr: (t) => { stderr += t; }, cwd: work, env: {}, progress: true });
    expect(code).toBe(0);
    expect(stderr).toMatch(/\r\[#+\] 9\/9 inputs/);
    expect((await cli(['combine', '--dir', 'input/coverage', '--out', 'r6', '--reporter', 'none'])).stderr).not.toContain('\r');
  });

  it('refuses a coverage file whose paths climb out of the project (../../x), and writes nothing outside --out', async () => {
    const data = runContainer(instrument(), (m) => invoke(m, 1));
    const sneaky: IstanbulData = {
      'src/calc.js': data['src/calc.js']!,
      '../../../../escape/calc.js': { ...data['src/calc.js']!, path: '../../../../escape/calc.js' },
    };
    mkdirSync(join(work, 'sneaky'), { recursive: true });
    writeFileSync(join(work, 'sneaky/coverage-final.json'), JSON.stringify(sneaky));
    const r = await cli(['combine', '--dir', 'sneaky', '--out', 'deep/a/b/out', '--reporter', 'html', '--reporter', 'lcovonly', '--reporter', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/invalid .*sneaky\/coverage-final\.json: file "\.\.\/\.\.\/\.\.\/\.\.\/escape\/calc\.js" is not inside the project/);
    expect(existsSync(join(work, 'escape'))).toBe(false);
    // Refused whole: not even its good file is merged.
    expect(JSON.parse(readFileSync(join(work, 'deep/a/b/out/coverage-final.json'), 'utf8'))).toEqual({});
  });

  it('names taken from shards (mapId, function, container) never become paths outside --out', async () => {
    const data = runContainer(instrument(), (m) => invoke(m, 2));
    const evil = toShard(data, { containerId: '../../../c', functionName: '../../fn' });
    evil.shard.mapId = '../../../../evil';
    evil.maps.mapId = '../../../../evil';
    const root = join(work, 'evil-in');
    writeShardFiles(root, 'coverage/', evil);
    const r = await cli(['combine', '--dir', 'evil-in', '--out', 'evil-out', '--build', 'all', '--reporter', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/read 1 shard/);
    const dirs = readdirSync(join(work, 'evil-out'));
    expect(dirs).toEqual(['build-.._.._.._.._evil']);
    expect(existsSync(join(work, 'evil'))).toBe(false);
    expect(existsSync(join(work, 'build-'))).toBe(false);
  });

  it('--build all writes a report per build; the summary totals are those reports taken together', async () => {
    const changed = instrument(['src/calc.js', 'src/greet.js'], (f) => readFileSync(join(APP, f), 'utf8').replace('return 42;', 'if (globalThis.x) return 1;\n  return 42;'));
    writeShardFiles(join(work, 'v2'), 'coverage/', toShard(runContainer(changed, (m) => invoke(m, 5)), { containerId: 'v2-c0', updatedAt: '2026-11-02T00:00:00.000Z' }));
    const r = await cli(['combine', '--dir', 'input/coverage', '--dir', 'v2', '--build', 'all', '--out', 'per-build', '--reporter', 'json-summary']);
    expect(r.code, r.stderr).toBe(0);
    const builds = readdirSync(join(work, 'per-build')).sort();
    expect(builds).toHaveLength(2);
    const totals = builds.map((b) => JSON.parse(readFileSync(join(work, 'per-build', b, 'coverage-summary.json'), 'utf8')).total);
    const sum = (m: string, k: 'covered' | 'total') => totals.reduce((n, t) => n + t[m][k], 0);
    expect(r.stderr).toMatch(new RegExp(`4 files in 2 builds, taken together: lines [\\d.]+% \\(${sum('lines', 'covered')}/${sum('lines', 'total')}\\), branches`));
    expect(r.stderr).toContain(`(${sum('statements', 'covered')}/${sum('statements', 'total')})\n`);
    for (const [i, b] of builds.entries()) expect(r.stderr).toContain(`  ${b}: 2 files, lines ${totals[i].lines.pct}%, branches ${totals[i].branches.pct}%`);
  });

  it('--json prints the summary as JSON on stdout', async () => {
    const r = await cli(['combine', '--dir', 'input/coverage', '--out', 'r7', '--reporter', 'json-summary', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { summary: { shards: number; invalid: number; totals: { lines: { pct: number } } }; reports: { files: number }[] };
    expect(j.summary.shards).toBe(3);
    expect(j.summary.invalid).toBe(6);
    expect(j.summary.totals.lines.pct).toBe(JSON.parse(readFileSync(join(work, 'r7/coverage-summary.json'), 'utf8')).total.lines.pct);
    expect(r.stderr).toBe('');
  });

  it('usage errors exit 2 with a message naming the option', async () => {
    for (const [args, msg] of [
      [['combine'], /give --bucket .* or --dir/],
      [['combine', '--dir', 'input', '--lines', 'abc'], /--lines must be a number between 0 and 100, not "abc"/],
      [['combine', '--dir', 'input', '--bogus'], /Unknown option '--bogus'/],
      [['combine', '--dir', 'input', '--build', 'some'], /--build must be "newest" or "all"/],
      [['combine', '--dir', 'input', '--reporter', 'nonsense', '--out', 'r5'], /unknown reporter "nonsense"; use one of clover, cobertura/],
      // Checked before anything is read: a typo does not cost a download of the whole bucket.
      [['combine', '--bucket', 'b', '--endpoint-url', 'http://127.0.0.1:9', '--reporter', 'lcov,htlm'], /^lambda-coverage: unknown reporter "htlm"/],
      [['frobnicate'], /unknown command "frobnicate"/],
      [['combine', '--dir', 'input', '--output-prefix', 'reports/'], /--output-prefix says where --upload writes; add --upload/],
      [['combine', '--dir', 'missing-dir'], /--dir .*missing-dir: does not exist/],
    ] as [string[], RegExp][]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(msg);
    }
  });
});
