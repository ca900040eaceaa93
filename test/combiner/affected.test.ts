// `lambda-coverage affected`: the pure intersection on hand-made cases, and the command's edges on real
// shards written to disk (the demo test runs it end to end on the demo's service and its real layer).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { affectedTests } from '../../combiner/affected.js';
import { main } from '../../combiner/main.js';
import { instrument, runContainer, toShard, writeShardFiles } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'lc-affected-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, { stdout: (t) => { out += t; }, stderr: (t) => { err += t; }, cwd: work, env: {}, progress: false });
  return { code, out, err };
}

describe('affected', () => {
  it('names each test whose covered lines hold a changed executable line, and sorts the rest by who ran them', () => {
    const tests = new Map([
      ['b/second', new Map([['src/a.ts', new Set([1, 2, 3])]])],
      ['a/first', new Map([['src/a.ts', new Set([3])], ['src/b.ts', new Set([10])]])],
      ['c/other', new Map([['src/b.ts', new Set([11])]])],
    ]);
    const executable = new Map([['src/a.ts', new Set([1, 2, 3, 4, 5])], ['src/b.ts', new Set([10, 11, 12])]]);
    const ran = new Map([['src/a.ts', new Set([1, 2, 3, 4])], ['src/b.ts', new Set([10, 11])]]);
    const r = affectedTests(new Map([['src/a.ts', [3, 4, 5, 6]], ['src/b.ts', [10, 12]], ['README.md', [1]]]), tests, executable, ran);
    expect(r.tests).toEqual([
      { name: 'a/first', files: { 'src/a.ts': [3], 'src/b.ts': [10] } },
      { name: 'b/second', files: { 'src/a.ts': [3] } },
    ]);
    // Line 6 is not executable (a comment): neither covered nor uncovered.
    expect(r.uncovered).toEqual({ 'src/a.ts': [5], 'src/b.ts': [12] });
    expect(r.untaggedOnly).toEqual({ 'src/a.ts': [4] });
    expect(r.unmatched).toEqual(['README.md']);
  });

  it('needs a diff and inputs, and says when no shard carries per-test data', async () => {
    const noDiff = await cli(['affected', '--dir', work]);
    expect(noDiff.code).toBe(2);
    expect(noDiff.err).toMatch(/affected needs the change: --diff FILE/);
    const data = runContainer(instrument(), (m) => { m.calc.add(1, 2); m.calc.classify(-1); });
    const dir = join(work, 'plain');
    writeShardFiles(dir, 'coverage/', toShard(data));
    writeFileSync(join(work, 'a.diff'), 'diff --git a/src/calc.js b/src/calc.js\n--- a/src/calc.js\n+++ b/src/calc.js\n@@ -2 +2 @@\n-  return a + b;\n+  return b + a;\n');
    const r = await cli(['affected', '--dir', dir, '--diff', join(work, 'a.diff')]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/no shard carries per-test coverage, so no test can be named/);
    expect(r.err).toMatch(/changed lines only untagged invocations or module load ran \(1\):\n {2}src\/calc\.js: 2/);
    const bad = await cli(['affected', '--dir', dir, '--diff', join(work, 'missing.diff')]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--diff .*missing\.diff: file not found/);
  });
});
