/**
 * The `markdown` reporter: what a reviewer reads on a pull request (a job summary in GitHub Actions,
 * a comment): the totals, the patch coverage of a --diff, the files with uncovered changed lines and
 * the failed thresholds. Pure: summary in, Markdown out; combine() writes it.
 *
 * Paths come from inputs (a diff, coverage files), so every one is escaped: no character of a path
 * can open markup, a link, a code span, a table cell or an HTML tag, or mention someone.
 */
import type { CombineSummary, MetricTotal } from './combine.js';
import { lineRanges } from './patch.js';
import { METRICS } from './reports.js';

export const MARKDOWN_REPORTER = 'markdown';
export const MARKDOWN_FILE = 'coverage-summary.md';

/** Rows and line ranges shown; the rest are counted (GitHub keeps 1 MiB of a step's summary). */
const MAX_FILES = 50;
const MAX_RANGES = 30;

// eslint-disable-next-line no-control-regex
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;

/** Plain text for Markdown: entities for `& < >`, a backslash before every other character that means something. */
export function escapeMarkdown(s: string): string {
  return s.replace(INVISIBLE, '\ufffd')
    .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
    .replace(/[\\`*_{}[\]()#+\-.!|~@:]/g, (c) => `\\${c}`);
}

const pct = (t: MetricTotal) => (t.pct === 'Unknown' ? 'n/a' : `${t.pct}%`);
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function moreOf<T>(items: readonly T[], max: number, noun: string): string {
  return items.length > max ? `… and ${plural(items.length - max, noun)} more` : '';
}

export function markdownSummary(s: Pick<CombineSummary, 'files' | 'totals' | 'patch'>, thresholdErrors: readonly string[] = []): string {
  const out: string[] = ['## Coverage', ''];
  out.push(`| | ${METRICS.map((m) => m[0]!.toUpperCase() + m.slice(1)).join(' | ')} |`);
  out.push(`| --- |${' ---: |'.repeat(METRICS.length)}`);
  out.push(`| ${plural(s.files, 'file')} | ${METRICS.map((m) => `${pct(s.totals[m])} (${s.totals[m].covered}/${s.totals[m].total})`).join(' | ')} |`);

  const p = s.patch;
  if (p) {
    out.push('');
    const t = p.total.lines;
    if (t.total === 0) out.push('**Patch coverage:** the diff changes no executable line.');
    else out.push(`**Patch coverage: ${t.pct}%** (${t.covered} of ${plural(t.total, 'changed executable line')} ran)`);
    const missed = Object.entries(p.files).filter(([, f]) => f.uncovered.length > 0);
    if (missed.length > 0) {
      out.push('', '| File | Changed lines covered | Uncovered changed lines |', '| --- | ---: | --- |');
      for (const [path, f] of missed.slice(0, MAX_FILES)) {
        const ranges = lineRanges(f.uncovered);
        const shown = ranges.slice(0, MAX_RANGES).join(', ') + (ranges.length > MAX_RANGES ? `, ${moreOf(ranges, MAX_RANGES, 'range')}` : '');
        out.push(`| ${escapeMarkdown(path)} | ${f.lines.pct}% (${f.lines.covered}/${f.lines.total}) | ${shown} |`);
      }
      const more = moreOf(missed, MAX_FILES, 'file');
      if (more) out.push('', `${more} with uncovered changed lines (coverage-patch.json lists them all).`);
    }
    if (p.unmatched.length > 0) {
      const names = p.unmatched.slice(0, MAX_FILES).map(escapeMarkdown).join(', ');
      const more = moreOf(p.unmatched, MAX_FILES, 'file');
      out.push('', `Changed but not in the coverage (not counted; docs and files no bundle loaded): ${names}${more ? `, ${more}` : ''}`);
    }
  }
  if (thresholdErrors.length > 0) {
    out.push('', ...thresholdErrors.map((e) => `- ${escapeMarkdown(e)}`));
  }
  return `${out.join('\n')}\n`;
}
