// Patch coverage end to end, on the demo's service (examples/basic): its real coverage (the plugin's
// bundles run on the demo's events, test/demo/reference.mjs), a git repository whose last commit is
// the service as it is now, and a real `git diff` from an older version that changes covered and
// uncovered lines, renames a file, adds and deletes files. The numbers of coverage-patch.json are
// counted by hand from that coverage; Debian's diff-cover, run on our lcov.info and Cobertura reports
// with the same repository, must find the same changed and uncovered lines.
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../combiner/main.js';
import { parseDiff } from '../../combiner/diff.js';
import { escapeMarkdown } from '../../combiner/markdown.js';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createHandler } from '../../combiner/handler.js';
import { NODE22, ROOT, instrument, invoke, localClient, putShard, runContainer, toShard } from './helpers.js';
import { startS3Process } from './s3-process.js';

const DIFF_COVER = '/usr/bin/diff-cover';
if (!existsSync(DIFF_COVER)) console.warn(`SKIPPED the diff-cover comparison of patch coverage: ${DIFF_COVER} missing (scripts/system-deps.sh installs it)`);

const CLI = join(ROOT, 'dist/combiner/cli.js');
const BASIC = join(ROOT, 'examples/basic');
let work: string;
let repo: string;
let coverageDir: string;

const git = (cwd: string, ...args: string[]) => execFileSync('git', args, {
  cwd, encoding: 'utf8',
  env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_SYSTEM: '/dev/null', GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' },
});

function edit(path: string, change: (lines: string[]) => void): void {
  const file = join(repo, path);
  const lines = readFileSync(file, 'utf8').split('\n');
  change(lines);
  writeFileSync(file, lines.join('\n'));
}
function put(path: string, text: string): void {
  mkdirSync(dirname(join(repo, path)), { recursive: true });
  writeFileSync(join(repo, path), text);
}

async function cli(args: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await main(['combine', '--dir', coverageDir, '--source-root', repo, '--threads', '0', ...args],
    { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; }, cwd: work, env, progress: false });
  return { code, stdout, stderr };
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'lc-patch-'));
  // The demo's coverage: examples/basic bundled by the plugin, run on its events.
  coverageDir = join(work, 'input');
  mkdirSync(coverageDir);
  const reference = execFileSync(NODE22, [join(ROOT, 'test/demo/reference.mjs'), join(work, 'bundles')], { encoding: 'utf8', maxBuffer: 64 << 20 });
  writeFileSync(join(coverageDir, 'coverage-final.json'), reference);

  // The repository: `base` is an older version of the service, `main` the service as it is.
  repo = join(work, 'repo');
  mkdirSync(repo);
  cpSync(join(BASIC, 'src'), join(repo, 'src'), { recursive: true });
  git(repo, 'init', '-q', '-b', 'main');
  edit('src/lib/orders.ts', (l) => {
    l[32] = l[32]!.replace("'must be EUR or USD'", "'must be EUR'"); // line 33
    l[46] = l[46]!.replace('must be a non-negative number', 'must not be negative'); // line 47
    l[53] = '  const discount = 0;'; // line 54
    l.splice(54, 1); // line 55 (const net = …) is new in main
    l[54] = '  // Shipping is free above 100.'; // the comment of line 56
  });
  edit('src/handlers/api.ts', (l) => {
    l[14] = l[14]!.replace("startsWith('/orders/')", "startsWith('/order/')"); // line 15
    l[34] = '    throw new Error(String(err));'; // line 35
  });
  // store.ts was storage.ts, with another line 27 and another type on line 6.
  edit('src/lib/store.ts', (l) => {
    l[5] = "  status: 'accepted' | 'shipped';";
    l[26] = '  return orders.delete(id) && true;';
  });
  renameSync(join(repo, 'src/lib/store.ts'), join(repo, 'src/lib/storage.ts'));
  put('src/lib/legacy.ts', 'export const legacy = 1;\n');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'base');
  git(repo, 'branch', 'base');
  // main: the service as it is, a new file no bundle loads, a doc; legacy.ts deleted.
  rmSync(join(repo, 'src'), { recursive: true });
  cpSync(join(BASIC, 'src'), join(repo, 'src'), { recursive: true });
  put('src/lib/unused.ts', 'export function unused(): number {\n  return 1;\n}\n');
  put('docs/notes.md', '# Notes\n\nOrders are validated.\n');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'the service as it is');
  writeFileSync(join(work, 'pr.diff'), git(repo, 'diff', 'base...main'));
}, 120_000);

afterAll(() => { if (work && !process.env.KEEP) rmSync(work, { recursive: true, force: true }); });

/**
 * Hand-counted from the demo's line coverage (FileCoverage#getLineCoverage()):
 * orders.ts changes lines 33 (7 hits), 47 (0), 54 (5), 55 (5) and the comment on 56 (not executable);
 * api.ts lines 15 (3) and 35 (0); store.ts (renamed) line 27 (0) and the type on line 6 (not
 * executable). 4 of 7 changed executable lines ran: 57.14 % (Istanbul's rounding down).
 */
const EXPECTED = {
  total: { lines: { covered: 4, total: 7, pct: 57.14 } },
  files: {
    'src/handlers/api.ts': { lines: { covered: 1, total: 2, pct: 50 }, uncovered: [35] },
    'src/lib/orders.ts': { lines: { covered: 3, total: 4, pct: 75 }, uncovered: [47] },
    'src/lib/store.ts': { lines: { covered: 0, total: 1, pct: 0 }, uncovered: [27] },
  },
  unmatched: ['docs/notes.md', 'src/lib/unused.ts'],
};

describe('combine --diff on the demo service', () => {
  it('the diff is what the hand count is about: a rename, a new and a deleted file', () => {
    const diff = readFileSync(join(work, 'pr.diff'), 'utf8');
    expect(diff).toContain('rename from src/lib/storage.ts');
    expect(diff).toContain('+++ /dev/null');
    expect(diff).toContain('+  const net = gross * (1 - discount);');
  });

  it('writes coverage-patch.json with the exact numbers, and shows them in the summary', async () => {
    const r = await cli(['--out', 'r1', '--diff', join(work, 'pr.diff'), '--reporter', 'json-summary']);
    expect(r.code, r.stderr).toBe(0);
    const patch = JSON.parse(readFileSync(join(work, 'r1/coverage-patch.json'), 'utf8'));
    expect(patch).toEqual(EXPECTED);
    expect(r.stderr).toContain('patch: lines 57.14% (4/7 changed executable lines ran) in 3 files\n');
    expect(r.stderr).toContain('uncovered changed lines:\n  src/handlers/api.ts: 35 (1/2 ran)\n  src/lib/orders.ts: 47 (3/4 ran)\n  src/lib/store.ts: 27 (0/1 ran)\n');
    expect(r.stderr).toContain('changed, not in the coverage (not counted): docs/notes.md, src/lib/unused.ts\n');
  });

  it('fails --patch-lines above the patch coverage with an ERROR: line (exit 1) and passes at it', async () => {
    const fail = await cli(['--out', 'r2', '--diff', join(work, 'pr.diff'), '--reporter', 'none', '--check-coverage', '--patch-lines', '60']);
    expect(fail.code, fail.stderr).toBe(1);
    expect(fail.stderr).toContain('ERROR: Coverage for patch lines (57.14%) does not meet threshold (60%)\n');
    // --patch-lines alone sets no --lines 90 default: the whole service's 80-odd % does not fail it.
    const pass = await cli(['--out', 'r3', '--diff', join(work, 'pr.diff'), '--reporter', 'none', '--check-coverage', '--patch-lines', '57.14']);
    expect(pass.code, pass.stderr).toBe(0);
    expect(pass.stderr).not.toContain('ERROR');
  });

  it('passes a diff that changes no executable line, and says so', async () => {
    // A branch off main that only rewords a comment of orders.ts and adds to the docs.
    git(repo, 'checkout', '-q', '-b', 'comments', 'main');
    edit('src/lib/orders.ts', (l) => { l[55] = '  // Shipping is free above 100, in EUR or USD.'; });
    put('docs/notes.md', '# Notes\n\nOrders are validated, then priced.\n');
    git(repo, 'commit', '-q', '-am', 'comments');
    git(repo, 'checkout', '-q', 'main');
    writeFileSync(join(work, 'comments.diff'), git(repo, 'diff', 'main...comments'));
    const r = await cli(['--out', 'r4', '--diff', join(work, 'comments.diff'), '--reporter', 'none', '--check-coverage', '--patch-lines', '100', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const { summary } = JSON.parse(r.stdout);
    expect(summary.patch).toEqual({
      total: { lines: { covered: 0, total: 0, pct: 100 } },
      files: { 'src/lib/orders.ts': { lines: { covered: 0, total: 0, pct: 100 }, uncovered: [] } },
      unmatched: ['docs/notes.md'],
    });
    const text = await cli(['--out', 'r4', '--diff', join(work, 'comments.diff'), '--reporter', 'none', '--check-coverage', '--patch-lines', '100']);
    expect(text.stderr).toContain('patch: the diff changes no executable line (1 file of the coverage changed); nothing to check for --patch-lines\n');
  });

  it('reads the diff from stdin (--diff -) and from a pipe (--diff <(git diff …)) in a real process, within --max-diff-mb', async () => {
    const run = (file: string, args: string[], stdin?: Buffer) => new Promise<{ code: number; stderr: string }>((resolveP) => {
      const child = execFile(file, args, { cwd: work, env: { PATH: process.env.PATH ?? '' }, timeout: 60_000 }, (err, _stdout, stderr) => {
        resolveP({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stderr });
      });
      child.stdin!.end(stdin);
    });
    const combineArgs = (out: string) => [CLI, 'combine', '--dir', coverageDir, '--source-root', repo, '--out', join(work, out), '--reporter', 'none'];
    const diff = readFileSync(join(work, 'pr.diff'));
    const piped = await run(NODE22, [...combineArgs('r5'), '--diff', '-'], diff);
    expect(piped.code, piped.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(work, 'r5/coverage-patch.json'), 'utf8'))).toEqual(EXPECTED);
    const quote = (a: string) => `'${a.replaceAll("'", "'\\''")}'`;
    const substituted = await run('/bin/bash', ['-c', `${[NODE22, ...combineArgs('r5b')].map(quote).join(' ')} --diff <(cat ${quote(join(work, 'pr.diff'))})`]);
    expect(substituted.code, substituted.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(work, 'r5b/coverage-patch.json'), 'utf8'))).toEqual(EXPECTED);
    const over = await run(NODE22, [...combineArgs('r5c'), '--diff', '-', '--max-diff-mb', '0.001'], diff);
    expect(over.code).toBe(2);
    expect(over.stderr).toMatch(/--diff -: at least \d+ bytes, over the bound of 1049 bytes \(raise it with --max-diff-mb if this input is genuine\)/);
  });

  it('reads a diff that Windows PowerShell wrote (UTF-16 with a byte order mark)', async () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(readFileSync(join(work, 'pr.diff'), 'utf8'), 'utf16le')]);
    writeFileSync(join(work, 'pr-utf16.diff'), utf16);
    const r = await cli(['--out', 'r10', '--diff', join(work, 'pr-utf16.diff'), '--reporter', 'none']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(work, 'r10/coverage-patch.json'), 'utf8'))).toEqual(EXPECTED);
  });

  it('writes the Markdown summary and appends it to $GITHUB_STEP_SUMMARY', async () => {
    const step = join(work, 'step-summary.md');
    writeFileSync(step, '# Earlier step\n');
    const r = await cli(['--out', 'r6', '--diff', join(work, 'pr.diff'), '--reporter', 'json-summary,markdown', '--check-coverage', '--patch-lines', '60'],
      { GITHUB_STEP_SUMMARY: step });
    expect(r.code, r.stderr).toBe(1);
    const md = readFileSync(join(work, 'r6/coverage-summary.md'), 'utf8');
    const totals = JSON.parse(readFileSync(join(work, 'r6/coverage-summary.json'), 'utf8')).total;
    expect(md).toContain(`| 5 files | ${totals.lines.pct}% (${totals.lines.covered}/${totals.lines.total}) | ${totals.branches.pct}% (${totals.branches.covered}/${totals.branches.total}) |`);
    expect(md).toContain('**Patch coverage: 57.14%** (4 of 7 changed executable lines ran)');
    expect(md).toContain('| src/lib/orders\\.ts | 75% (3/4) | 47 |');
    expect(md).toContain('| src/lib/store\\.ts | 0% (0/1) | 27 |');
    expect(md).toContain('Changed but not in the coverage (not counted; docs and files no bundle loaded): docs/notes\\.md, src/lib/unused\\.ts');
    expect(md).toContain('- ERROR\\: Coverage for patch lines \\(57\\.14%\\) does not meet threshold \\(60%\\)');
    expect(readFileSync(step, 'utf8')).toBe(`# Earlier step\n${md}\n`);
  });

  it('refuses a malformed or oversized diff before reading any input, naming the line and the bound', async () => {
    const diff = readFileSync(join(work, 'pr.diff'), 'utf8');
    writeFileSync(join(work, 'cut.diff'), diff.slice(0, diff.indexOf('+  const net')));
    const cut = await cli(['--out', 'r7', '--diff', join(work, 'cut.diff')]);
    expect(cut.code).toBe(2);
    expect(cut.stderr).toMatch(/^lambda-coverage: --diff \S+cut\.diff: the diff ends inside the hunk of line \d+ \(\d+ old and \d+ new lines missing\); was it cut short\?\n/);
    expect(existsSync(join(work, 'r7'))).toBe(false);
    const big = await cli(['--out', 'r8', '--diff', join(work, 'pr.diff'), '--max-diff-mb', '0.001']);
    expect(big.code).toBe(2);
    expect(big.stderr).toMatch(/--diff \S+pr\.diff: \d+ bytes, over the bound of 1049 bytes \(raise it with --max-diff-mb if this input is genuine\)/);
    const missing = await cli(['--diff', join(work, 'nope.diff')]);
    expect(missing.stderr).toMatch(/--diff \S+nope\.diff: file not found/);
    const noDiff = await cli(['--check-coverage', '--patch-lines', '80']);
    expect(noDiff.code).toBe(2);
    expect(noDiff.stderr).toContain('--patch-lines is checked against the lines a diff changes; add --diff FILE');
  });

  it('never opens a file because the diff names it, and escapes its names in every summary', async () => {
    const secret = join(work, 'outside.ts');
    writeFileSync(secret, 'export const s = "SECRET-TOKEN";\n');
    const hostile = [
      `--- a/../outside.ts\n+++ b/../outside.ts\n@@ -0,0 +1 @@\n+x\n`,
      `--- a/${secret}\n+++ b/${secret}\n@@ -0,0 +1 @@\n+x\n`,
      'diff --git "a/src/\\033[2Jx|`y`<b>@z.ts" "b/src/\\033[2Jx|`y`<b>@z.ts"\nnew file mode 100644\n--- /dev/null\n+++ "b/src/\\033[2Jx|`y`<b>@z.ts"\n@@ -0,0 +1 @@\n+x\n',
    ].join('');
    writeFileSync(join(work, 'hostile.diff'), hostile);
    const r = await cli(['--out', 'r9', '--diff', join(work, 'hostile.diff'), '--reporter', 'markdown,json']);
    expect(r.code, r.stderr).toBe(0);
    const patch = JSON.parse(readFileSync(join(work, 'r9/coverage-patch.json'), 'utf8'));
    const evil = 'src/\u001b[2Jx|`y`<b>@z.ts';
    expect(patch.unmatched).toEqual(['../outside.ts', evil, secret].sort());
    expect(patch.files).toEqual({});
    expect(r.stderr).not.toContain('\u001b');
    expect(r.stderr).toContain('"src/\\u001b[2Jx|`y`<b>@z.ts"');
    const md = readFileSync(join(work, 'r9/coverage-summary.md'), 'utf8');
    expect(md).toContain(escapeMarkdown(evil));
    expect(escapeMarkdown(evil)).toBe('src/\ufffd\\[2Jx\\|\\`y\\`&lt;b&gt;\\@z\\.ts');
    for (const f of ['coverage-patch.json', 'coverage-summary.md', 'coverage-final.json']) expect(readFileSync(join(work, 'r9', f), 'utf8')).not.toContain('SECRET-TOKEN');
  });
});

describe.skipIf(!existsSync(DIFF_COVER))('the same changed and uncovered lines as Debian\'s diff-cover', () => {
  it.each(['lcov.info', 'cobertura-coverage.xml'])('on our %s and the same repository', async (report) => {
    const r = await cli(['--out', 'dc', '--diff', join(work, 'pr.diff'), '--reporter', 'lcovonly,cobertura']);
    expect(r.code, r.stderr).toBe(0);
    const ours = JSON.parse(readFileSync(join(work, 'dc/coverage-patch.json'), 'utf8'));
    const out = join(work, `diff-cover-${report}.json`);
    await new Promise<void>((resolveP, rejectP) => execFile(DIFF_COVER, [join(work, 'dc', report), '--compare-branch=base', `--json-report=${out}`],
      { cwd: repo, env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null' } }, (err, _o, stderr) => (err ? rejectP(new Error(`${err.message}\n${stderr}`)) : resolveP())));
    const theirs = JSON.parse(readFileSync(out, 'utf8')) as {
      src_stats: Record<string, { percent_covered: number; violation_lines: number[] }>;
      total_num_lines: number; total_num_violations: number; num_changed_lines: number;
    };
    // Changed lines: every added line of the diff, in every file (diff-cover counts them before it matches files).
    const added = [...parseDiff(readFileSync(join(work, 'pr.diff'), 'utf8')).files.values()].reduce((n, l) => n + l.length, 0);
    expect(theirs.num_changed_lines).toBe(added);
    // Changed executable lines and the uncovered ones, per file and in total.
    expect(Object.keys(theirs.src_stats).sort()).toEqual(Object.keys(ours.files).filter((p) => ours.files[p].lines.total > 0));
    for (const [path, stats] of Object.entries(theirs.src_stats)) {
      const f = ours.files[path];
      expect([...stats.violation_lines].sort((a, b) => a - b), path).toEqual(f.uncovered);
      expect(stats.percent_covered, path).toBeCloseTo((100 * f.lines.covered) / f.lines.total, 6);
    }
    expect(theirs.total_num_lines).toBe(ours.total.lines.total);
    expect(theirs.total_num_violations).toBe(ours.total.lines.total - ours.total.lines.covered);
  });
});

describe('the combiner Lambda with a diff in S3', () => {
  it('reads event.diff from S3, uploads coverage-patch.json and the Markdown, checks thresholds.patchLines', async () => {
    const s3 = await startS3Process(['cov']);
    const client = localClient(s3.endpoint);
    try {
      await putShard(client, 'cov', 'coverage/', toShard(runContainer(instrument(), (m) => invoke(m, 1))));
      // src/calc.js of the fixture app: line 2 (add, called) and line 15 (unused, never called) changed.
      const diff = 'diff --git a/src/calc.js b/src/calc.js\n--- a/src/calc.js\n+++ b/src/calc.js\n@@ -1,3 +1,3 @@\n function add(a, b) {\n-  return a - b;\n+  return a + b;\n }\n'
        + '@@ -14,3 +14,3 @@ function unused() {\n function unused() {\n-  return 41;\n+  return 42;\n }\n';
      await client.send(new PutObjectCommand({ Bucket: 'cov', Key: 'diffs/pr-7.diff', Body: diff }));
      const handler = createHandler({ s3Client: client, env: {} });
      const res = await handler({ bucket: 'cov', runId: 'pr-7', diff: 's3://cov/diffs/pr-7.diff', reporters: ['json-summary', 'markdown'], thresholds: { patchLines: 60 } });
      expect(res.summary.patch).toEqual({
        total: { lines: { covered: 1, total: 2, pct: 50 } },
        files: { 'src/calc.js': { lines: { covered: 1, total: 2, pct: 50 }, uncovered: [15] } },
        unmatched: [],
      });
      expect(res.ok).toBe(false);
      expect(res.thresholdErrors).toEqual(['ERROR: Coverage for patch lines (50%) does not meet threshold (60%)']);
      expect([...res.keys].sort()).toEqual(['coverage/combined/pr-7/coverage-patch.json', 'coverage/combined/pr-7/coverage-summary.json', 'coverage/combined/pr-7/coverage-summary.md']);
      // The event names objects in S3, never a file of the function's machine; a missing object is named.
      await expect(handler({ bucket: 'cov', diff: '/proc/self/environ' })).rejects.toThrow(/event\.diff must be an s3:\/\/bucket\/key URL/);
      await expect(handler({ bucket: 'cov', diff: 's3://cov/diffs/none.diff' })).rejects.toThrow(/--diff s3:\/\/cov\/diffs\/none\.diff: object not found/);
      await expect(handler({ bucket: 'cov', thresholds: { patch: 60 } })).rejects.toThrow(/event\.thresholds\.patch: not a metric; use lines, branches, functions, statements, patchLines/);
    } finally {
      client.destroy();
      await s3.stop();
    }
  });
});
