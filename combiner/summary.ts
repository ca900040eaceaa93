/** Human-readable summary and the terminal progress bar. Pure formatting, no I/O. */
import type { CombineResult, CombineSummary, MetricTotal } from './combine.js';
import type { IngestProgress } from './ingest.js';
import { METRICS } from './reports.js';
import { lineRanges, type PatchCoverage } from './patch.js';
import { projectPathProblem } from '../contract/format.js';

const LIST_LIMIT = 20;

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function pct(t: MetricTotal): string {
  return t.pct === 'Unknown' ? 'n/a' : `${t.pct}%`;
}

function bytes(n: number): string {
  return n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function limitedTo(limit: number) {
  return <T>(items: readonly T[], line: (t: T) => string): string[] => {
    const out = items.slice(0, limit).map((t) => `  ${line(t)}`);
    if (items.length > limit) out.push(`  … and ${items.length - limit} more (--verbose lists all)`);
    return out;
  };
}

/** `verbose`: every skipped input, dropped version and missing source, not the first 20. */
export function formatSummary(s: CombineSummary, r?: Pick<CombineResult, 'reports' | 'uploaded' | 'asShard'>, verbose = false): string {
  const limited = limitedTo(verbose ? Infinity : LIST_LIMIT);
  const lines: string[] = [];
  const inputs = [plural(s.shards, 'shard')];
  if (s.coverageFiles > 0) inputs.push(plural(s.coverageFiles, 'coverage file'));
  lines.push(`lambda-coverage: read ${inputs.join(' and ')} (${bytes(s.bytes)}) from ${plural(s.functions.length, 'function')}`
    + `${s.functions.length > 0 && s.functions.length <= 5 ? ` (${s.functions.join(', ')})` : ''}, ${plural(s.invocations, 'invocation')}, in ${(s.durationMs / 1000).toFixed(1)} s`
    + (s.retries > 0 ? `; ${plural(s.retries, 'request')} retried` : ''));
  if (s.shards === 0 && s.coverageFiles === 0) {
    lines.push('nothing read: check --bucket, --prefix (the runtime writes {prefix}{function}/shards/) and --function, or --dir');
  }
  if (s.skipped.length > 0) {
    lines.push(`skipped ${s.skipped.length} (${s.invalid} invalid):`);
    lines.push(...limited(s.skipped, (k) => `${k.kind.padEnd(7)} ${k.source}: ${k.reason}`));
  }
  const totals = METRICS.map((m) => `${m} ${pct(s.totals[m])} (${s.totals[m].covered}/${s.totals[m].total})`).join(', ');
  if (s.builds.length > 1) {
    lines.push(`${plural(s.files, 'file')} in ${s.builds.length} builds, taken together: ${totals}`);
    for (const b of s.builds) lines.push(`  ${b.id}: ${plural(b.files, 'file')}, lines ${pct(b.totals.lines)}, branches ${pct(b.totals.branches)}, functions ${pct(b.totals.functions)}, statements ${pct(b.totals.statements)} → ${b.dir}`);
  } else {
    lines.push(`${plural(s.files, 'file')}: ${totals}`);
  }
  if (s.patch) lines.push(...patchLines(s.patch, limited));
  if (s.dropped.length > 0) {
    lines.push(`older versions left out (newest wins; --build all writes one report per build):`);
    lines.push(...limited(s.dropped, (d) => `${d.path}: ${plural(d.droppedInputs, 'input')} of ${plural(d.droppedHashes.length, 'older version')} (kept ${d.keptHash.slice(0, 12)})`));
  }
  if (s.pathPrefix.kind === 'detected') lines.push(`paths: build-machine prefix ${s.pathPrefix.prefix} mapped to . (${plural(s.pathPrefix.matched, 'file')}); override with --path-map`);
  if (s.pathPrefix.kind === 'ambiguous') lines.push(`paths: absolute paths match more than one prefix (${s.pathPrefix.prefixes.join(', ')}); inputs with paths outside the project are refused: use --path-map FROM=.`);
  if (s.spellings.length > 0) {
    lines.push('one file under two spellings (reported separately, not merged):');
    lines.push(...limited(s.spellings, (w) => `${w.paths.join(' | ')}: ${w.hint}`));
  }
  if (s.remapNeeded.length > 0) {
    lines.push(`${plural(s.remapNeeded.length, 'file')} from coverage files carry an inputSourceMap (coverage of transpiled code): reported at the transpiled locations, not remapped; instrument the original sources (the plugin does) or remap with nyc report first:`);
    lines.push(...limited(s.remapNeeded, (p) => p));
  }
  if (s.tests) {
    const t = s.tests;
    lines.push(`per-test: ${plural(t.found, 'named test')} found${t.reportOf ? `; reports of ${t.reportOf.map((n) => JSON.stringify(n)).join(', ')} only` : ''}`
      + (t.perTestPage ? ` (which test ran each line: ${t.perTestPage})` : t.found > 0 ? ' (--per-test says which test ran each line)' : ''));
  }
  if (s.saturated.length > 0) lines.push(`counters capped at ${Number.MAX_SAFE_INTEGER} in: ${s.saturated.join(', ')}`);
  if (s.storedSources.shown.length > 0) {
    lines.push(`source text stored with the build shown for ${plural(s.storedSources.shown.length, 'file')} not under --source-root (${plural(s.storedSources.documents, 'sources document')} read)`);
  }
  if (s.storedSources.problems.length > 0) {
    lines.push(`stored source text refused (those files show no source):`);
    lines.push(...limited(s.storedSources.problems, (p) => `${p.source}: ${p.reason}`));
  }
  if (s.missingSources.length > 0) {
    lines.push(`no source for ${plural(s.missingSources.length, 'file')} (HTML shows coverage without the code; pass --source-root):`);
    lines.push(...limited(s.missingSources, (p) => p));
  }
  if (r) {
    for (const w of r.reports) if (w.files.length > 0) lines.push(`reports: ${w.dir} (${plural(w.files.length, 'file')})`);
    if (r.uploaded) lines.push(`uploaded ${plural(r.uploaded.keys.length, 'file')} to s3://${r.uploaded.bucket}/${r.uploaded.prefix}`);
    if (r.asShard) lines.push(`merged shard: ${r.asShard.shard} (maps: ${r.asShard.maps})`);
  }
  return `${lines.join('\n')}\n`;
}

/** A path a diff named, for a terminal: as it is when it is a plain project path, else quoted. */
export function diffPathText(name: string): string {
  return projectPathProblem(name) === undefined ? name : quoted(name);
}

/** A name for a terminal: in quotes, every control, line-breaking or direction-changing character escaped. */
function quoted(name: string): string {
  const cut = name.length > 120 ? `${name.slice(0, 120)}…` : name;
  return JSON.stringify(cut).replace(/[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The patch coverage of --diff: the total, the files with uncovered changed lines, what it did not count. */
function patchLines(p: PatchCoverage, limited: ReturnType<typeof limitedTo>): string[] {
  const out: string[] = [];
  const t = p.total.lines;
  const changed = Object.keys(p.files).length;
  if (t.total === 0) {
    out.push(`patch: the diff changes no executable line${changed > 0 ? ` (${plural(changed, 'file')} of the coverage changed)` : ''}; nothing to check for --patch-lines`);
  } else {
    out.push(`patch: lines ${t.pct}% (${t.covered}/${t.total} changed executable lines ran) in ${plural(changed, 'file')}`);
  }
  const missed = Object.entries(p.files).filter(([, f]) => f.uncovered.length > 0);
  if (missed.length > 0) {
    out.push('uncovered changed lines:');
    out.push(...limited(missed, ([path, f]) => `${path}: ${lineRanges(f.uncovered).join(', ')} (${f.lines.covered}/${f.lines.total} ran)`));
  }
  if (p.unmatched.length > 0) {
    // Named by the diff, so shown quoted when a name is not a plain project path.
    const names = p.unmatched.slice(0, 10).map(diffPathText);
    out.push(`changed, not in the coverage (not counted): ${names.join(', ')}${p.unmatched.length > 10 ? ` and ${p.unmatched.length - 10} more (coverage-patch.json lists all)` : ''}`);
  }
  return out;
}

/** `[#####-----] 512/1000 shards` on one line of a terminal; nothing when not a TTY. */
export function progressLine(p: IngestProgress, width = 30): string {
  const total = Math.max(p.listed, p.done, 1);
  const filled = Math.round((p.done / total) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${p.done}/${p.listed}${p.listing ? '+' : ''} inputs`;
}
