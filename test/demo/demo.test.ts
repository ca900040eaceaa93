import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createCoverageMap, type CoverageSummary, type FileCoverageData } from 'istanbul-lib-coverage';
import { afterAll, describe, expect, it } from 'vitest';
import { runDemo } from '../../scripts/demo.mjs';
import { EVENTS } from '../../examples/basic/events.mjs';

const ROOT = join(import.meta.dirname, '../..');

interface Covered {
  lines: number[];
  functions: { name: string; line: number }[];
  branches: { line: number; branch: number; arm: number }[];
}

/** What moved between two snapshots of one file under plain Istanbul, as coverage-tests.json says it. */
function coveredBetween(before: FileCoverageData, after: FileCoverageData): Covered {
  const lines = new Set<number>();
  for (const [k, n] of Object.entries(after.s)) if (n - (before.s[k] ?? 0) > 0) lines.add(after.statementMap[k]!.start.line);
  const functions = Object.entries(after.f).filter(([k, n]) => n - (before.f[k] ?? 0) > 0)
    .map(([k]) => ({ name: after.fnMap[k]!.name, line: (after.fnMap[k]!.decl ?? after.fnMap[k]!.loc).start.line }));
  const branches: Covered['branches'] = [];
  for (const [k, arms] of Object.entries(after.b)) {
    arms.forEach((n, arm) => { if (n - (before.b[k]?.[arm] ?? 0) > 0) branches.push({ line: after.branchMap[k]!.loc.start.line, branch: Number(k), arm }); });
  }
  return { lines: [...lines].sort((a, b) => a - b), functions, branches };
}
import { chromiumAvailable, dumpDom } from '../../scripts/local/chromium.mjs';

const work = mkdtempSync(join(tmpdir(), 'lc-demo-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('npm run demo', () => {
  const lines: string[] = [];
  const demo = runDemo({ work: join(work, 'w'), out: join(work, 'coverage'), log: (l: string) => lines.push(l) });

  it('runs every step, with failures on purpose and a healthy layer', async () => {
    const r = await demo;
    expect(r.failed).toBeGreaterThan(0);
    expect(r.ok).toBeGreaterThan(r.failed);
    expect(r.health.status).toBe('healthy');
    const text = lines.join('\n');
    expect(text).toMatch(/-> 422/);
    expect(text).toMatch(/All files\s+\|/);
    expect(text).toContain('index.html');
  });

  it('prints exactly what the same events give in one process under plain Istanbul', async () => {
    await demo;
    // The reference bundles the sources itself (classic Istanbul objects, no manifest, S3 or combiner).
    const reference = JSON.parse(execFileSync(process.execPath, [
      join(import.meta.dirname, 'reference.mjs'), join(work, 'reference'),
    ], { encoding: 'utf8' })) as Record<string, FileCoverageData & { _coverageSchema?: string }>;
    for (const c of Object.values(reference)) delete c._coverageSchema;
    const combined = JSON.parse(readFileSync(join(work, 'coverage', 'coverage-final.json'), 'utf8'));
    expect(Object.keys(combined).sort()).toEqual(Object.keys(reference).sort());
    for (const [path, ref] of Object.entries(reference)) expect(combined[path], path).toEqual(ref);
    // Several containers really ran: the api function's counters are sums over two of them.
    expect(Math.max(...Object.values(reference['src/handlers/api.ts']!.f))).toBeGreaterThan(1);

    // The printed table: every file row and "All files" carry the reference's percentages.
    const map = createCoverageMap(reference);
    const rows = new Map<string, number[]>();
    for (const line of lines) {
      const m = /^\s*([^|]+?)\s*\|\s*([\d.]+)\s*\|\s*([\d.]+)\s*\|\s*([\d.]+)\s*\|\s*([\d.]+)\s*\|/.exec(line);
      if (m) rows.set(m[1]!, m.slice(2, 6).map(Number));
    }
    const pcts = (s: CoverageSummary) => [s.statements.pct, s.branches.pct, s.functions.pct, s.lines.pct];
    expect(rows.get('All files')).toEqual(pcts(map.getCoverageSummary()));
    for (const path of map.files()) {
      expect(rows.get(basename(path)), path).toEqual(pcts(map.fileCoverageFor(path).toSummary()));
    }
    // And the summary line's covered/total counts.
    const total = map.getCoverageSummary();
    const printed = lines.find((l) => /^\d+ files: lines/.test(l));
    expect(printed).toBe(`${map.files().length} files: ${(['lines', 'branches', 'functions', 'statements'] as const)
      .map((m) => `${m} ${total[m].pct}% (${total[m].covered}/${total[m].total})`).join(', ')}`);
  });

  it('per test: each test covers exactly what its events alone cover in one process under plain Istanbul', async () => {
    await demo;
    const doc = JSON.parse(readFileSync(join(work, 'coverage', 'coverage-tests.json'), 'utf8')) as {
      tests: Record<string, { invocations: number; functions: string[]; files: Record<string, Covered> }>;
    };
    const names = [...new Set(EVENTS.map((e) => e[3].test).filter((t): t is string => t !== null))].sort();
    expect(Object.keys(doc.tests).sort()).toEqual(names);
    for (const name of names) {
      const events = EVENTS.filter((e) => e[3].test === name);
      expect(doc.tests[name]!.invocations, name).toBe(events.length);
      expect(doc.tests[name]!.functions, name).toEqual([...new Set(events.map((e) => `demo-${e[0]}`))].sort());
      // Only this test's events, in a fresh process: what they moved after the modules loaded.
      const ref = JSON.parse(execFileSync(process.execPath, [join(import.meta.dirname, 'reference.mjs'), join(work, `reference-${name.replace(/\W/g, '_')}`), name], { encoding: 'utf8' })) as {
        load: Record<string, FileCoverageData>; end: Record<string, FileCoverageData>;
      };
      const expected: Record<string, Covered> = {};
      for (const [path, end] of Object.entries(ref.end)) {
        const moved = coveredBetween(ref.load[path]!, end);
        if (moved.lines.length + moved.functions.length + moved.branches.length > 0) expected[path] = moved;
      }
      expect(doc.tests[name]!.files, name).toEqual(expected);
    }
  });

  it.runIf(existsSync('/usr/bin/genhtml'))('lcov.info has a TN: section per test that Debian\'s genhtml --show-details takes; they cover the lines of the totals and sum to its function and branch counts', async () => {
    await demo;
    const lcov = readFileSync(join(work, 'coverage', 'lcov.info'), 'utf8');
    const sections = new Set([...lcov.matchAll(/^TN:(.*)$/gm)].map((m) => m[1]));
    expect([...sections].sort()).toEqual(['init', 'nightly/dry-run', 'orders/create', 'orders/duplicate', 'orders/invalid', 'orders/read', 'queue/batch', 'untagged']);
    // Lines hit in any section are exactly the lines the totals hit.
    const hit = new Set<string>();
    let file = '';
    for (const line of lcov.split('\n')) {
      if (line.startsWith('SF:')) file = line.slice(3);
      const da = /^DA:(\d+),(\d+)/.exec(line);
      if (da && Number(da[2]) > 0) hit.add(`${file}:${da[1]}`);
    }
    const totals = createCoverageMap(JSON.parse(readFileSync(join(work, 'coverage', 'coverage-final.json'), 'utf8')));
    const want = new Set<string>();
    for (const path of totals.files()) {
      for (const [l, n] of Object.entries(totals.fileCoverageFor(path).getLineCoverage())) if (n > 0) want.add(`${path}:${l}`);
    }
    expect([...hit].sort()).toEqual([...want].sort());
    // Function and branch-arm hits of the sections add up to the totals' exactly (no event named two
    // tests). A line's DA is its most-run statement, so lines are compared as covered or not, above.
    const fnda = new Map<string, number>();
    const brda = new Map<string, number>();
    for (const line of lcov.split('\n')) {
      if (line.startsWith('SF:')) file = line.slice(3);
      const fn = /^FNDA:(\d+),(.*)$/.exec(line);
      if (fn) fnda.set(`${file}:${fn[2]}`, (fnda.get(`${file}:${fn[2]}`) ?? 0) + Number(fn[1]));
      const br = /^BRDA:(\d+),(\d+),(\d+),(\d+|-)$/.exec(line);
      if (br) brda.set(`${file}:${br[1]},${br[2]},${br[3]}`, (brda.get(`${file}:${br[1]},${br[2]},${br[3]}`) ?? 0) + (br[4] === '-' ? 0 : Number(br[4])));
    }
    const wantFn = new Map<string, number>();
    const wantBr = new Map<string, number>();
    for (const path of totals.files()) {
      const d = totals.fileCoverageFor(path).data;
      for (const [k, n] of Object.entries(d.f)) wantFn.set(`${path}:${d.fnMap[k]!.name}`, (wantFn.get(`${path}:${d.fnMap[k]!.name}`) ?? 0) + n);
      for (const [k, arms] of Object.entries(d.b)) arms.forEach((n, a) => wantBr.set(`${path}:${d.branchMap[k]!.loc.start.line},${k},${a}`, n));
    }
    expect(Object.fromEntries([...fnda].sort())).toEqual(Object.fromEntries([...wantFn].sort()));
    expect(Object.fromEntries([...brda].sort())).toEqual(Object.fromEntries([...wantBr].sort()));
    const html = join(work, 'genhtml');
    execFileSync('/usr/bin/genhtml', ['--show-details', '--branch-coverage', '-o', html, join(work, 'coverage', 'lcov.info')], { cwd: join(ROOT, 'examples/basic'), stdio: 'pipe' });
    expect(readFileSync(join(html, 'index.html'), 'utf8')).toMatch(/Lines/);
  });

  it('lambda-coverage affected names exactly the tests that ran the lines a diff changes, and the changed lines none covers', async () => {
    const r = await demo;
    // A repository of the demo's service, and a change to lines whose tests are known by hand:
    // orders.ts 44 (quantity refused: only orders/invalid sends one), queue.ts 11 (only the SQS batches),
    // nightly.ts 15 (only the scheduled run), api.ts 35 (no test reaches it) and a README line.
    const repo = join(work, 'repo');
    cpSync(join(ROOT, 'examples/basic/src'), join(repo, 'src'), { recursive: true });
    writeFileSync(join(repo, 'README.md'), 'demo\n');
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], { cwd: repo, encoding: 'utf8' });
    git('init', '-q');
    git('add', '.');
    git('commit', '-qm', 'base');
    const edit = (file: string, line: number) => {
      const lines = readFileSync(join(repo, file), 'utf8').split('\n');
      lines[line - 1] = `${lines[line - 1]} // changed`;
      writeFileSync(join(repo, file), lines.join('\n'));
    };
    edit('src/lib/orders.ts', 44);
    edit('src/handlers/queue.ts', 11);
    edit('src/handlers/nightly.ts', 15);
    edit('src/handlers/api.ts', 35);
    writeFileSync(join(repo, 'README.md'), 'demo, changed\n');
    writeFileSync(join(work, 'change.diff'), git('diff'));
    const cli = join(ROOT, 'dist/combiner/cli.js');
    const args = ['affected', '--dir', r.combined, '--diff', join(work, 'change.diff')];
    const plain = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
    expect(plain.status, plain.stderr).toBe(0);
    expect(plain.stdout).toBe('nightly/dry-run\norders/invalid\nqueue/batch\n');
    expect(plain.stderr).toContain('3 of 6 tests ran the 4 changed executable line(s)');
    expect(plain.stderr).toContain('changed lines no test covers (1):\n  src/handlers/api.ts: 35');
    expect(plain.stderr).toContain('changed files the coverage does not have (not counted): README.md');
    const json = JSON.parse(execFileSync(process.execPath, [cli, ...args, '--json'], { encoding: 'utf8' }));
    expect(json.tests).toEqual([
      { name: 'nightly/dry-run', files: { 'src/handlers/nightly.ts': [15] } },
      { name: 'orders/invalid', files: { 'src/lib/orders.ts': [44] } },
      { name: 'queue/batch', files: { 'src/handlers/queue.ts': [11] } },
    ]);
    expect(json.uncovered).toEqual({ 'src/handlers/api.ts': [35] });
    expect(json.unmatched).toEqual(['README.md']);
    // The same from the per-test data the combine wrote: every test whose covered lines hold a changed one.
    const doc = JSON.parse(readFileSync(join(work, 'coverage', 'coverage-tests.json'), 'utf8')) as { tests: Record<string, { files: Record<string, Covered> }> };
    const changed: Record<string, number> = { 'src/lib/orders.ts': 44, 'src/handlers/queue.ts': 11, 'src/handlers/nightly.ts': 15, 'src/handlers/api.ts': 35 };
    const byData = Object.entries(doc.tests).filter(([, t]) => Object.entries(changed).some(([p, l]) => t.files[p]?.lines.includes(l))).map(([n]) => n).sort();
    expect(json.tests.map((t: { name: string }) => t.name)).toEqual(byData);
  });

  it.skipIf(!chromiumAvailable())('the combiner Lambda\'s HTML (no checkout) shows the source of every file in Chromium', async () => {
    const r = await demo;
    const files = Object.keys(JSON.parse(readFileSync(join(work, 'coverage', 'coverage-final.json'), 'utf8')));
    expect(files.length).toBeGreaterThan(0);
    // The DOM's text (prettify splits the source into spans): tags dropped, entities decoded.
    const textOf = (dom: string) => dom.replace(/<[^>]*>/g, '').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
    // istanbul's HTML report leaves out the folders every file shares (src/ here).
    const dirs = files.map((f) => f.split('/').slice(0, -1));
    let common = 0;
    while (dirs.every((d) => d[common] !== undefined && d[common] === dirs[0]![common])) common++;
    for (const path of files) {
      const shown = textOf(await dumpDom(join(r.lambdaReport, `${path.split('/').slice(common).join('/')}.html`)));
      expect(shown, path).not.toContain('Source not shown');
      const source = readFileSync(join(ROOT, 'examples/basic', path), 'utf8');
      for (const line of source.split('\n').filter((l) => l.trim() !== '')) expect(shown, `${path}: ${line}`).toContain(line.trim());
    }
  });

  it.skipIf(!chromiumAvailable())('the per-test pages say, in Chromium, which tests ran each line, as coverage-tests.json does', async () => {
    await demo;
    const dir = join(work, 'coverage', 'per-test');
    const doc = JSON.parse(readFileSync(join(work, 'coverage', 'coverage-tests.json'), 'utf8')) as { tests: Record<string, { files: Record<string, Covered> }> };
    const index = await dumpDom(join(dir, 'index.html'));
    for (const name of Object.keys(doc.tests)) expect(index).toContain(`<td>${name}</td>`);
    const pages = readdirSync(dir).filter((f) => /^f\d+\.html$/.test(f));
    expect(pages.length).toBe(5);
    for (const page of pages) {
      const dom = await dumpDom(join(dir, page));
      const path = /<h1>([^<]+)<\/h1>/.exec(dom)![1]!;
      const shown = new Map<number, string[]>();
      // The init and untagged sections are marked as phases, not tests.
      for (const m of dom.matchAll(/<tr class="hit"><td class="n">(\d+)<\/td><td class="n">\d*<\/td><td class="tests">(.*?)<\/td>/g)) {
        shown.set(Number(m[1]), m[2]!.replace(/<span class="phase">[^<]*<\/span>/g, '').split(/,\s*/).filter((t) => t !== ''));
      }
      const want = new Map<number, string[]>();
      for (const [name, t] of Object.entries(doc.tests)) for (const l of t.files[path]?.lines ?? []) want.set(l, [...(want.get(l) ?? []), name]);
      for (const [l, names] of want) expect(shown.get(l)?.sort(), `${path}:${l}`).toEqual(names.sort());
      for (const [l, names] of shown) if (names.length > 0) expect(want.has(l), `${path}:${l}`).toBe(true);
    }
  });

  it.skipIf(!existsSync('/proc'))('stops everything it started: no process of its containers, the S3 port closed', async () => {
    await demo;
    const functions = join(work, 'w', 'functions');
    const left = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').some((v) => v.startsWith(`LAMBDA_TASK_ROOT=${functions}`));
      } catch {
        return false; // a process that ended while we looked
      }
    });
    expect(left).toEqual([]);
    const endpoint = /S3 at (\S+);/.exec(lines.join('\n'))?.[1];
    expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await expect(fetch(endpoint!)).rejects.toThrow();
  });

  it.skipIf(!chromiumAvailable())('the HTML report shows the json-summary totals in Chromium', async () => {
    await demo;
    const summary = JSON.parse(readFileSync(join(work, 'coverage', 'coverage-summary.json'), 'utf8')).total;
    const dom = await dumpDom(join(work, 'coverage', 'index.html'));
    for (const metric of ['statements', 'branches', 'functions', 'lines'] as const) {
      const { covered, total } = summary[metric];
      expect(dom, metric).toContain(`${covered}/${total}`);
    }
    expect(existsSync(join(work, 'coverage', 'lcov.info'))).toBe(true);
  });
});
