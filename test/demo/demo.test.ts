import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runDemo } from '../../scripts/demo.mjs';
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

  it('prints exactly the counts of the same events run in one process', async () => {
    await demo;
    const reference = JSON.parse(execFileSync(process.execPath, [
      join(import.meta.dirname, 'reference.mjs'), join(work, 'w', 'functions'),
    ], { encoding: 'utf8' })) as Record<string, { hash: string; s: object; f: object; b: object }>;
    const combined = JSON.parse(readFileSync(join(work, 'coverage', 'coverage-final.json'), 'utf8'));
    expect(Object.keys(combined).sort()).toEqual(Object.keys(reference).sort());
    for (const [path, ref] of Object.entries(reference)) {
      const got = combined[path];
      expect({ hash: got.hash, s: got.s, f: got.f, b: got.b }, path).toEqual(ref);
    }
    // Several containers really ran: the api function's counters are sums over two of them.
    const apiPosts = Object.values(reference['src/handlers/api.ts']!.f as Record<string, number>);
    expect(Math.max(...apiPosts)).toBeGreaterThan(1);
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
