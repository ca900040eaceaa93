/**
 * The outputs of `combine --per-test`, per report directory:
 *   lcov.info            one `TN:<section>` record per file a section moved (init, each test, untagged),
 *                        each written by istanbul-reports' lcovonly over that section's counters;
 *   coverage-tests.json  per test its invocations, functions and, per file, the lines, functions and
 *                        branch arms it covered (init and untagged in keys of their own);
 *   per-test/            index.html (the tests, and per file how many cover it) and one page per file
 *                        saying which tests cover each line; static HTML, no script, everything escaped.
 * The sections are those of per-test.ts. Files are written through assertInside, as every report is.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { INIT_PHASE, UNTAGGED } from '../contract/format.js';
import { toCoverageMap, type MergedFile } from './accumulator.js';
import { assertInside } from './paths.js';
import { packedTotals, sectionCounters, touches, withCounters, type TestInfo } from './per-test.js';
import { renderText, type SourceLookup } from './reports.js';

export const TESTS_JSON = 'coverage-tests.json';
export const TESTS_FORMAT = 'lambda-coverage/tests';
/** The folder of the per-test HTML pages, unless a project folder of that name is in the report. */
export const TESTS_HTML_DIR = 'per-test';

/** What one section covered in one file, in the terms of lcov's DA, FN and BRDA records. */
export interface CoveredInFile {
  lines: number[];
  functions: { name: string; line: number }[];
  branches: { line: number; branch: number; arm: number }[];
}

/** coverage-tests.json. */
export interface TestsDocument {
  format: typeof TESTS_FORMAT;
  version: 1;
  tests: Record<string, { invocations: number; functions: string[]; files: Record<string, CoveredInFile> }>;
  /** What moved while modules loaded (before the first invocation of each container). */
  init: { files: Record<string, CoveredInFile> };
  /** The totals less init and every test, per counter at least 0: what no named test moved. */
  untagged: { files: Record<string, CoveredInFile> };
}

interface Section { name: string; test?: TestInfo }

/** init, every test (sorted), untagged; with `only` (--test), just those. */
function sections(tests: readonly TestInfo[], only?: readonly string[]): Section[] {
  const all: Section[] = [{ name: INIT_PHASE }, ...tests.map((t) => ({ name: t.name, test: t })), { name: UNTAGGED }];
  return only === undefined ? all : all.filter((s) => only.includes(s.name));
}

/** A statement's line and whether a section's counters cover it: the lines covered, ascending. */
function coveredIn(file: MergedFile, c: Float64Array): CoveredInFile {
  const { statementMap, fnMap, branchMap } = file.maps;
  const lines = new Set<number>();
  for (let i = 0; i < file.s.length; i++) if (c[i]! > 0) lines.add(statementMap[i]!.start.line);
  const functions: CoveredInFile['functions'] = [];
  for (let i = 0; i < file.f.length; i++) {
    if (c[file.s.length + i]! > 0) {
      const m = fnMap[i]!;
      functions.push({ name: m.name, line: (m.decl ?? m.loc).start.line });
    }
  }
  const branches: CoveredInFile['branches'] = [];
  let o = file.s.length + file.f.length;
  for (let i = 0; i < file.b.length; i++) {
    const arms = file.b[i]!.length;
    for (let j = 0; j < arms; j++) if (c[o + j]! > 0) branches.push({ line: branchMap[i]!.loc.start.line, branch: i, arm: j });
    o += arms;
  }
  return { lines: [...lines].sort((a, b) => a - b), functions, branches };
}

type SectionData = Map<string, Map<MergedFile, Float64Array>>;

/** Every section's counters of every file it moved (computed once: lcov, JSON and HTML read the same). */
function sectionData(files: readonly MergedFile[], list: readonly Section[]): SectionData {
  const out: SectionData = new Map();
  for (const s of list) {
    const byFile = new Map<MergedFile, Float64Array>();
    for (const f of files) {
      const c = s.name === UNTAGGED ? sectionCounters(f, UNTAGGED) : f.perTest?.get(s.name);
      if (c !== undefined && touches(c)) byFile.set(f, c);
    }
    out.set(s.name, byFile);
  }
  // Every file is in lcov.info at least once, so its lines, functions and branches are all counted
  // (a file no section moved, as one from a build manifest, goes with the last section, untagged
  // unless --test left it out, at zero).
  const last = list.length > 0 ? out.get(list[list.length - 1]!.name)! : undefined;
  for (const f of files) {
    if (last !== undefined && ![...out.values()].some((m) => m.has(f))) last.set(f, new Float64Array(packedTotals(f).length));
  }
  return out;
}

function lcovText(files: readonly MergedFile[], list: readonly Section[], data: SectionData): string {
  let out = '';
  for (const s of list) {
    const byFile = data.get(s.name)!;
    if (byFile.size === 0) continue;
    const map = toCoverageMap(files.filter((f) => byFile.has(f)).map((f) => withCounters(f, byFile.get(f)!)));
    // lcovonly writes `TN:` with no name before each file's record; names have no `,` or newline
    // (contract/tests.ts), so the record stays one line that lcov reads.
    out += renderText('lcovonly', map).replace(/^TN:$/gm, () => `TN:${s.name}`);
  }
  return out;
}

/** coverage-tests.json's content; with `only` (--test), the other sections are left empty. */
export function testsDocument(files: readonly MergedFile[], tests: readonly TestInfo[], only?: readonly string[], data = sectionData(files, sections(tests, only))): TestsDocument {
  const covered = (name: string) => {
    const out: Record<string, CoveredInFile> = Object.create(null);
    for (const [f, c] of data.get(name) ?? []) {
      const cov = coveredIn(f, c);
      if (cov.lines.length + cov.functions.length + cov.branches.length > 0) out[f.path] = cov;
    }
    return out;
  };
  const doc: TestsDocument = { format: TESTS_FORMAT, version: 1, tests: Object.create(null), init: { files: covered(INIT_PHASE) }, untagged: { files: covered(UNTAGGED) } };
  for (const t of tests) if (only === undefined || only.includes(t.name)) doc.tests[t.name] = { invocations: t.invocations, functions: t.functions, files: covered(t.name) };
  return doc;
}

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:2px 8px;text-align:left;vertical-align:top}th{background:#f3f3f3}td.n{text-align:right}
tr.hit td.src{background:#e6f5d0}tr.miss td.src{background:#fce1e5}pre{margin:0;font:12px/1.3 ui-monospace,monospace;white-space:pre-wrap}
.phase{font-style:italic;color:#555}.tests{font-size:12px}`;

function page(title: string, body: string, up: string): string {
  // No script and no external resource: the pages are static, and every value in them is escaped.
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`
    + `<title>${esc(title)}</title><style>${STYLE}</style></head><body>${up}<h1>${esc(title)}</h1>${body}</body></html>\n`;
}

function sectionLabel(name: string): string {
  if (name === INIT_PHASE) return '<span class="phase">init</span> (while modules loaded, before the first invocation)';
  if (name === UNTAGGED) return '<span class="phase">untagged</span> (no test named)';
  return esc(name);
}

function sourceLines(file: MergedFile, sources: SourceLookup): string[] | undefined {
  try {
    return sources.find(file.path).split(/\r?\n/);
  } catch {
    return undefined;
  }
}

/** The HTML pages: per-test/index.html and per-test/f{N}.html per file (numbered: no path in a file name). */
function htmlPages(files: readonly MergedFile[], all: readonly Section[], data: SectionData, sources: SourceLookup): Map<string, string> {
  const pages = new Map<string, string>();
  const tests = all.flatMap((s) => (s.test ? [s.test] : []));
  const covers = (name: string, f: MergedFile) => data.get(name)!.has(f) && coveredIn(f, data.get(name)!.get(f)!);
  let rows = '';
  for (const s of all) {
    let lines = 0;
    let nFiles = 0;
    for (const [f, c] of data.get(s.name)!) {
      const n = coveredIn(f, c).lines.length;
      lines += n;
      if (n > 0) nFiles++;
    }
    rows += `<tr><td>${sectionLabel(s.name)}</td><td class="n">${s.test ? s.test.invocations : ''}</td><td>${s.test ? s.test.functions.map(esc).join(', ') : ''}</td>`
      + `<td class="n">${lines}</td><td class="n">${nFiles}</td></tr>`;
  }
  let fileRows = '';
  files.forEach((f, i) => {
    const named = tests.filter((t) => covers(t.name, f) && (covers(t.name, f) as CoveredInFile).lines.length > 0).length;
    fileRows += `<tr><td><a href="f${i + 1}.html">${esc(f.path)}</a></td><td class="n">${named}</td></tr>`;
  });
  pages.set('index.html', page('Per-test coverage', `<p>${tests.length} named test(s). Lines covered: lines with a statement the section ran.</p>`
    + `<table><tr><th>Test</th><th>Invocations</th><th>Functions</th><th>Lines covered</th><th>Files</th></tr>${rows}</table>`
    + `<h2>Files</h2><table><tr><th>File</th><th>Named tests covering it</th></tr>${fileRows}</table>`, '<p><a href="../index.html">coverage report</a></p>'));

  files.forEach((f, i) => {
    // line → the sections that ran a statement on it
    const byLine = new Map<number, string[]>();
    for (const s of all) {
      const c = data.get(s.name)!.get(f);
      if (c === undefined) continue;
      for (const line of coveredIn(f, c).lines) {
        const list = byLine.get(line);
        if (list) list.push(s.name); else byLine.set(line, [s.name]);
      }
    }
    const statementLines = new Set(Object.values(f.maps.statementMap).map((r) => r.start.line));
    const total = new Map<number, number>();
    for (let k = 0; k < f.s.length; k++) {
      const line = f.maps.statementMap[k]!.start.line;
      total.set(line, Math.max(total.get(line) ?? 0, f.s[k]!));
    }
    const src = sourceLines(f, sources);
    const last = Math.max(src?.length ?? 0, ...statementLines);
    let body = '';
    for (let line = 1; line <= last; line++) {
      if (src === undefined && !statementLines.has(line)) continue;
      const names = byLine.get(line) ?? [];
      const cls = statementLines.has(line) ? (names.length > 0 ? 'hit' : 'miss') : '';
      const hits = total.get(line);
      body += `<tr class="${cls}"><td class="n">${line}</td><td class="n">${hits ?? ''}</td>`
        + `<td class="tests">${names.map((n) => (n === INIT_PHASE || n === UNTAGGED ? `<span class="phase">${n}</span>` : esc(n))).join(', ')}</td>`
        + `<td class="src"><pre>${esc(src?.[line - 1] ?? '')}</pre></td></tr>`;
    }
    const note = src === undefined ? '<p>Source not shown: this file was not found under the report\'s --source-root. The lines with statements are listed.</p>' : '';
    pages.set(`f${i + 1}.html`, page(f.path, `${note}<table><tr><th>Line</th><th>Hits</th><th>Tests that ran it</th><th>Source</th></tr>${body}</table>`,
      '<p><a href="index.html">all tests</a></p>'));
  });
  return pages;
}

/** The folder for the pages: `per-test`, or with `_` added while a file of the report is under it. */
function htmlDir(files: readonly MergedFile[]): string {
  let dir = TESTS_HTML_DIR;
  while (files.some((f) => f.path === dir || f.path.startsWith(`${dir}/`) || f.path === `${dir}.html`)) dir += '_';
  return dir;
}

export interface PerTestWritten {
  files: string[];
  /** The per-test HTML index, relative to the report directory. */
  html: string;
}

/**
 * Writes lcov.info (replacing the plain one: its totals are the same), coverage-tests.json and the
 * pages; `only` (--test) keeps just those sections.
 */
export function writePerTest(opts: { dir: string; files: readonly MergedFile[]; tests: readonly TestInfo[]; sources: SourceLookup; only?: readonly string[] }): PerTestWritten {
  const root = resolve(opts.dir);
  const list = sections(opts.tests, opts.only);
  const data = sectionData(opts.files, list);
  const written: string[] = [];
  const write = (rel: string, text: string) => {
    const file = assertInside(root, join(root, rel));
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    written.push(file);
  };
  write('lcov.info', lcovText(opts.files, list, data));
  write(TESTS_JSON, `${JSON.stringify(testsDocument(opts.files, opts.tests, opts.only, data), null, 2)}\n`);
  const dir = htmlDir(opts.files);
  for (const [name, html] of htmlPages(opts.files, list, data, opts.sources)) write(`${dir}/${name}`, html);
  return { files: written.sort(), html: `${dir}/index.html` };
}
