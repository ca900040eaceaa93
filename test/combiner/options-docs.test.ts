/**
 * The combine command's options are declared once (combiner/commands/combine.ts). This holds what is
 * written by hand to that declaration: the option tables of README.md and docs/combiner.md (every
 * declared flag listed once, none more, with the declared type and default), their lists of event
 * fields, the CombineEvent type, and the bounds' flags named by the shard codec.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { COMBINE_HELP, COMBINE_OPTIONS } from '../../combiner/commands/combine.js';
import { LAYER_HELP, LAYER_OPTIONS } from '../../combiner/commands/layer.js';
import { docType, flagText } from '../../combiner/commands/options.js';
import { EVENT_FIELDS } from '../../combiner/event.js';
import type { CombineEvent } from '../../combiner/handler.js';
import { METRICS } from '../../combiner/reports.js';
import { LIMIT_FLAGS } from '../../contract/format.js';
import { ROOT } from './helpers.js';

interface Row { cell: string; flags: string[]; type: string; default: string }

/** The rows of the first `| Option | Description | Type | Default |` table whose options are `--flags`. */
function optionTable(file: string): Row[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== '| Option | Description | Type | Default |' || !lines[i + 2]?.startsWith('| `--')) continue;
    const rows: Row[] = [];
    for (let j = i + 2; lines[j]?.startsWith('|'); j++) {
      const cells = lines[j]!.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim().replaceAll('\\|', '|'));
      expect(cells, `${file}:${j + 1}`).toHaveLength(4);
      const [cell, , type, def] = cells as [string, string, string, string];
      rows.push({ cell, flags: [...cell.matchAll(/--([a-z][a-z-]*)/g)].map((m) => m[1]!), type, default: def });
    }
    return rows;
  }
  throw new Error(`${file}: no table of --options`);
}

describe.each(['README.md', 'docs/combiner.md'])('%s', (file) => {
  const rows = optionTable(file);

  it('lists every declared option of combine once, and nothing else', () => {
    const listed = rows.flatMap((r) => r.flags);
    expect([...listed].sort()).toEqual(COMBINE_OPTIONS.map((s) => s.flag).sort());
  });

  it('gives each option its declared type, default and placeholder', () => {
    for (const row of rows) {
      for (const flag of row.flags) {
        const spec = COMBINE_OPTIONS.find((s) => s.flag === flag)!;
        expect.soft({ flag, type: row.type, default: row.default }).toEqual({ flag, type: docType(spec), default: spec.default ?? '–' });
      }
      // A row of several flags (`--lines` `--branches` … `N`) shares its description and placeholder.
      if (row.flags.length === 1) expect.soft(row.cell).toBe(`\`${flagText(COMBINE_OPTIONS.find((s) => s.flag === row.flags[0])!)}\``);
    }
  });

  it('names every field the Lambda event takes', () => {
    const text = readFileSync(join(ROOT, file), 'utf8');
    const start = text.search(/^Event( fields)?: `bucket`/m);
    expect(start, 'the paragraph of event fields').toBeGreaterThan(-1);
    const paragraph = text.slice(start, text.indexOf('\n\n', start));
    for (const field of EVENT_FIELDS) expect(paragraph).toContain(`\`${field}\``);
  });
});

describe('the declaration', () => {
  it('says explicitly which options the Lambda event takes, under their CombineOptions names', () => {
    // Not in the event: local paths (dirs, out, sourceRoot), terminal output, the function's own S3
    // settings and threads, upload (always) and checkCoverage (given thresholds are checked); the
    // `--max-*` bounds come as `limits`, in bytes.
    const fields = ['bucket', 'prefix', 'functions', 'manifests', 'diff', 'pathMap', 'build', 'maxInvalid', 'reporters', 'outputPrefix',
      'runId', 'asShard', 'perTest', 'tests', 'thresholds', 'concurrency', 'limits'] as const;
    expect(EVENT_FIELDS).toEqual(fields);
    expectTypeOf<keyof CombineEvent>().toEqualTypeOf<(typeof fields)[number]>();
  });

  it('has one threshold flag per metric and the bounds under the flags the shard codec names', () => {
    expect(COMBINE_OPTIONS.filter((s) => s.field.startsWith('thresholds.')).map((s) => s.flag)).toEqual([...METRICS, 'patch-lines']);
    const bounds = COMBINE_OPTIONS.filter((s) => s.field.startsWith('limits.'));
    expect(Object.fromEntries(bounds.map((s) => [s.field.slice('limits.'.length), `--${s.flag}`]))).toEqual(LIMIT_FLAGS);
  });

  it('is what --help lists, each flag once', () => {
    for (const [help, specs] of [[COMBINE_HELP, COMBINE_OPTIONS], [LAYER_HELP, LAYER_OPTIONS]] as const) {
      const listed = [...help.matchAll(/^ {2}(--[a-z-]+)/gm)].map((m) => m[1]);
      expect(listed).toEqual(specs.map((s) => `--${s.flag}`));
    }
  });
});
