// The diff parser on real `git diff` output: a temporary repository, a commit, then edits of every
// kind a pull request makes (lines changed, added and deleted, a rename with changes, a new file, a
// deleted file, no newline at the end, names with spaces, quotes and Unicode), each diff made by git
// itself and read back against line numbers counted by hand. The malformed inputs are real diffs cut
// or edited the way they get broken in practice.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiffError, parseDiff } from '../../combiner/diff.js';

let repo: string;
const git = (...args: string[]) => execFileSync('git', args, {
  cwd: repo, encoding: 'utf8',
  env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_SYSTEM: '/dev/null', GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' },
});
const write = (path: string, text: string) => {
  mkdirSync(dirname(join(repo, path)), { recursive: true });
  writeFileSync(join(repo, path), text);
};
const numbered = (n: number, tag = 'line') => Array.from({ length: n }, (_, i) => `${tag} ${i + 1}`);
const text = (lines: string[], eol = true) => `${lines.join('\n')}${eol ? '\n' : ''}`;

/** Line k (1-based) of the new version of each file, to check the parser's numbers against the text. */
const newLines = new Map<string, string[]>();
function writeNew(path: string, lines: string[], eol = true): void {
  newLines.set(path, lines);
  write(path, text(lines, eol));
}

beforeAll(() => {
  repo = mkdtempSync(join(tmpdir(), 'lc-diff-'));
  git('init', '-q', '-b', 'main');
  write('src/edit.ts', text(numbered(30)));
  write('src/old name.ts', text(numbered(12, 'moved')));
  write('src/gone.ts', text(numbered(5)));
  write('src/noeol.ts', text(numbered(4), false));
  write('src/tail.ts', text(numbered(6)));
  write('src/café "q" 🚀.ts', text(numbered(3)));
  write('README.md', '# app\n');
  write('src/mode.sh', 'echo hi\n');
  git('add', '-A');
  git('commit', '-q', '-m', 'base');
  git('tag', 'v1');

  // src/edit.ts: line 3 modified, 2 lines inserted after line 10, lines 20-21 deleted, line 30 modified.
  const edit = numbered(30);
  edit[2] = 'line 3 changed';
  edit.splice(10, 0, 'inserted a', 'inserted b');
  const deletedAt = edit.indexOf('line 20');
  edit.splice(deletedAt, 2);
  edit[edit.length - 1] = 'line 30 changed';
  writeNew('src/edit.ts', edit);
  // A rename (git sees it: 11 of 12 lines kept) with line 6 changed.
  git('mv', 'src/old name.ts', 'src/new name.ts');
  const moved = numbered(12, 'moved');
  moved[5] = 'moved 6 changed';
  writeNew('src/new name.ts', moved);
  // A new file, a deleted file.
  writeNew('src/new.ts', ['export const a = 1;', '', 'export const b = 2;']);
  unlinkSync(join(repo, 'src/gone.ts'));
  // The last line gets a newline and a line after it; only deleting lines from tail.ts.
  writeNew('src/noeol.ts', [...numbered(4), 'line 5'], false);
  writeNew('src/tail.ts', numbered(6).filter((l) => l !== 'line 2' && l !== 'line 5'));
  // A name git quotes (non-ASCII and a double quote): line 2 changed.
  writeNew('src/café "q" 🚀.ts', ['line 1', 'line 2 changed', 'line 3']);
  writeNew('README.md', ['# app', '', 'More words.']);
  execFileSync('chmod', ['+x', join(repo, 'src/mode.sh')]);
  git('add', '-A');
  git('commit', '-q', '-m', 'change');
  git('tag', 'v2');
});

afterAll(() => { if (repo) rmSync(repo, { recursive: true, force: true }); });

/** Hand-counted: the line numbers, in the new files, of what the second commit adds or modifies. */
const EXPECTED: Record<string, number[]> = {
  'src/edit.ts': [3, 11, 12, 30],
  'src/new name.ts': [6],
  'src/new.ts': [1, 2, 3],
  'src/noeol.ts': [4, 5], // line 4 gains its newline: git shows it as changed, as diff-cover counts it
  'src/tail.ts': [],
  'src/café "q" 🚀.ts': [2],
  'README.md': [2, 3],
  'src/mode.sh': [],
};

describe('parseDiff on real git diff output', () => {
  it('finds the added and modified lines of each file, in the new numbering, for every kind of change', () => {
    const diff = git('diff', 'v1', 'v2');
    // The diff really has what the cases are about.
    expect(diff).toContain('rename from src/old name.ts');
    expect(diff).toContain('\\ No newline at end of file');
    expect(diff).toContain('"b/src/caf\\303\\251 \\"q\\" \\360\\237\\232\\200.ts"');
    expect(diff).toContain('+++ /dev/null');
    expect(diff).toContain('--- /dev/null');
    const parsed = parseDiff(diff);
    expect(Object.fromEntries(parsed.files)).toEqual(EXPECTED);
    expect(parsed.deleted).toEqual(['src/gone.ts']);
  });

  it('numbers lines exactly: each number is the new file\'s line with that text', () => {
    const parsed = parseDiff(git('diff', 'v1', 'v2'));
    expect(parsed.files.get('src/edit.ts')!.map((n) => newLines.get('src/edit.ts')![n - 1]))
      .toEqual(['line 3 changed', 'inserted a', 'inserted b', 'line 30 changed']);
    expect(parsed.files.get('src/new name.ts')!.map((n) => newLines.get('src/new name.ts')![n - 1])).toEqual(['moved 6 changed']);
  });

  it('gives the same lines with no context (-U0), wide context (-U20), --no-prefix, mnemonic-free and unquoted paths', () => {
    const base = Object.fromEntries(parseDiff(git('diff', 'v1', 'v2')).files);
    expect(Object.fromEntries(parseDiff(git('diff', '-U0', 'v1', 'v2')).files)).toEqual(base);
    expect(Object.fromEntries(parseDiff(git('diff', '-U20', 'v1', 'v2')).files)).toEqual(base);
    expect(Object.fromEntries(parseDiff(git('diff', '--no-prefix', 'v1', 'v2')).files)).toEqual(base);
    expect(Object.fromEntries(parseDiff(git('-c', 'core.quotePath=false', 'diff', 'v1', 'v2')).files)).toEqual(base);
  });

  it('reads a rename without rename detection as a deletion and a new file', () => {
    const parsed = parseDiff(git('diff', '--no-renames', 'v1', 'v2'));
    expect(parsed.files.get('src/new name.ts')).toEqual(numbered(12).map((_, i) => i + 1));
    expect(parsed.deleted).toEqual(expect.arrayContaining(['src/old name.ts', 'src/gone.ts']));
  });

  it('reads the diff of a whole branch (A...B), git show and format-patch output, CRLF line ends', () => {
    git('branch', '-f', 'base', 'v1');
    expect(Object.fromEntries(parseDiff(git('diff', 'base...v2')).files)).toEqual(EXPECTED);
    // A commit message above the diff (indented by git show, plain in format-patch) is skipped.
    expect(Object.fromEntries(parseDiff(git('show', 'v2')).files)).toEqual(EXPECTED);
    expect(Object.fromEntries(parseDiff(git('format-patch', '--stdout', '-1', 'v2')).files)).toEqual(EXPECTED);
    expect(Object.fromEntries(parseDiff(git('diff', 'v1', 'v2').replace(/\n/g, '\r\n')).files)).toEqual(EXPECTED);
  });

  it('reads a diff with nothing in it as no change, and plain diff -u output', () => {
    expect(parseDiff('').files.size).toBe(0);
    expect(parseDiff(git('diff', 'v2', 'v2')).files.size).toBe(0);
    const plain = '--- src/a.ts\t2026-11-01 10:00:00.000000000 +0000\n+++ src/a.ts\t2026-11-02 10:00:00.000000000 +0000\n@@ -1,2 +1,3 @@\n one\n+two\n three\n';
    expect(Object.fromEntries(parseDiff(plain).files)).toEqual({ 'src/a.ts': [2] });
  });

  it('keeps the lines of a removed line that began with "-- " and an added one beginning with "++ " inside their hunk', () => {
    write('src/dashes.ts', text(['a', '-- x', 'b']));
    git('add', '-A');
    git('commit', '-q', '-m', 'dashes');
    write('src/dashes.ts', text(['a', '++ y', 'b']));
    const parsed = parseDiff(git('diff'));
    expect(Object.fromEntries(parsed.files)).toEqual({ 'src/dashes.ts': [2] });
    git('checkout', '-q', '--', 'src/dashes.ts');
  });
});

describe('parseDiff refuses a malformed diff, naming the line and what to do', () => {
  const good = () => git('diff', 'v1', 'v2');
  const lineOf = (diff: string, start: string) => diff.split('\n').findIndex((l) => l.startsWith(start)) + 1;

  it('a diff cut inside a hunk', () => {
    const diff = good();
    const cut = diff.slice(0, diff.indexOf('+line 3 changed'));
    expect(() => parseDiff(cut, '--diff pr.diff')).toThrow(/^--diff pr\.diff: the diff ends inside the hunk of line \d+ .*cut short\?$/);
    expect(() => parseDiff(cut)).toThrow(DiffError);
  });

  it('a diff cut at its start (a hunk with no file header)', () => {
    const diff = good();
    const from = diff.indexOf('@@');
    expect(() => parseDiff(diff.slice(from), '--diff pr.diff')).toThrow(/^--diff pr\.diff: line 1: a hunk with no file header before it/);
  });

  it('a hunk whose header counts fewer or other lines than it has', () => {
    const diff = good();
    const at = lineOf(diff, '@@ -1,6 +1,6 @@');
    expect(at).toBeGreaterThan(0);
    const fewer = diff.replace('@@ -1,6 +1,6 @@', '@@ -1,6 +1,5 @@');
    expect(() => parseDiff(fewer, '--diff pr.diff')).toThrow(new RegExp(`^--diff pr\\.diff: line \\d+: more lines than the hunk header of line ${at} counts; was the diff edited\\?$`));
    const broken = diff.replace('@@ -1,6 +1,6 @@', '@@ -1,6 +1,x @@');
    expect(() => parseDiff(broken, '--diff pr.diff')).toThrow(new RegExp(`^--diff pr\\.diff: line ${at}: not a hunk header`));
  });

  it('a line inside a hunk that is no diff line (an edited diff)', () => {
    const diff = good().replace('\n line 1\n', '\nline 1\n');
    expect(() => parseDiff(diff, 'd')).toThrow(/^d: line \d+: the hunk of line \d+ expects \d+ more old and \d+ more new lines, but this line starts with neither/);
  });

  it('two diffs put together, a combined diff of a merge, and text that is no diff', () => {
    expect(() => parseDiff(good() + good(), 'd')).toThrow(/^d: line \d+: "README\.md" again \(first at line 1\); give one diff/);
    expect(() => parseDiff('diff --cc src/a.ts\nindex 1,2..3\n@@@ -1,1 -1,1 +1,1 @@@\n', 'd')).toThrow(/^d: line 1: a combined diff/);
    expect(() => parseDiff('{"total": {}}\n', 'd')).toThrow(/^d: no file header .* is it a unified diff\?/);
    expect(() => parseDiff('diff --git "a/x\\q" "b/x\\q"\n', 'd')).toThrow(/^d: line 1: bad escape "\\q"/);
  });
});
