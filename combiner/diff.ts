/**
 * Reads a unified diff (`git diff`, `git diff origin/main...HEAD`, `diff -u`) into the lines it adds
 * to each file of the new version: what `combine --diff` measures. Pure: text in, data out; it never
 * opens a file the diff names.
 *
 * The changed lines of a file are the `+` lines of its hunks, numbered in the new file (diff-cover's
 * definition, which Codecov's patch status shares): a modified line is a `-` and a `+`, so it counts
 * once, in its new place; a deleted line has no new place and does not count. Deleted files
 * (`+++ /dev/null`) are left out, renames are read under their new name (`rename to`, `+++ b/…`),
 * `\ No newline at end of file` is not a line, and quoted paths are unquoted as git writes them (C
 * escapes, octal bytes of UTF-8). Git's `a/` and `b/` prefixes are dropped; a diff made with
 * `--no-prefix` (paths that do not start with `a/` and `b/`) is read as it is. Anything that does not
 * parse is a DiffError naming the line.
 */

export class DiffError extends Error {
  override name = 'DiffError';
}

export interface ParsedDiff {
  /**
   * Each file of the new version the diff touches → the line numbers it adds or modifies (ascending,
   * 1-based, possibly none: a file whose change only deletes lines, or changes only its mode or name).
   */
  files: Map<string, number[]>;
  /** Files the diff deletes (their old path): nothing of them is left to cover. */
  deleted: string[];
}

const HUNK = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;

interface Section {
  /** Where the section's first header line is (1-based), for messages. */
  line: number;
  /** `diff --git` header's two paths, as written (quoted or not); undefined without such a header. */
  gitHeader?: string;
  minus?: string;
  plus?: string;
  renameTo?: string;
  deletedFile: boolean;
  added: number[];
  hunks: number;
  /** The last line of the new file the hunks so far reach. */
  end: number;
}

const ESCAPES: Record<string, number> = { a: 7, b: 8, t: 9, n: 10, v: 11, f: 12, r: 13, '"': 34, '\\': 92 };

/**
 * A path as git writes it: plain, or in double quotes with C escapes (`\t`, `\"`, `\\`, `\303\251` for
 * the UTF-8 bytes of "é"). `rest` is what follows the path (for `diff --git "a/x" "b/y"`).
 */
function readPath(text: string, at: number, where: string): { path: string; rest: string } {
  if (text[at] !== '"') return { path: text.slice(at), rest: '' };
  const bytes: number[] = [];
  let i = at + 1;
  for (; i < text.length && text[i] !== '"'; i++) {
    if (text[i] !== '\\') {
      // A run of plain characters (with core.quotePath=false, UTF-8 as it is).
      let j = i;
      while (j < text.length && text[j] !== '\\' && text[j] !== '"') j++;
      bytes.push(...new TextEncoder().encode(text.slice(i, j)));
      i = j - 1;
      continue;
    }
    const e = text[++i];
    if (e !== undefined && e in ESCAPES) bytes.push(ESCAPES[e]!);
    else if (e !== undefined && /^[0-3][0-7]{2}$/.test(text.slice(i, i + 3))) {
      bytes.push(parseInt(text.slice(i, i + 3), 8));
      i += 2;
    } else {
      throw new DiffError(`${where}: bad escape "\\${e ?? ''}" in the quoted path ${text.slice(at, at + 80)}`);
    }
  }
  if (i >= text.length) throw new DiffError(`${where}: the quoted path ${text.slice(at, at + 80)} has no closing quote`);
  return { path: new TextDecoder('utf-8', { fatal: false }).decode(Uint8Array.from(bytes)), rest: text.slice(i + 1) };
}

/**
 * The path of a `---` / `+++` line: git puts a tab after a name with a space in it, and GNU diff a tab
 * and the file's time; a name with a tab in it is always quoted.
 */
function headerPath(line: string, where: string): string {
  const { path } = readPath(line, 4, where);
  if (line[4] === '"') return path;
  const tab = path.indexOf('\t');
  return tab === -1 ? path.replace(/\r$/, '') : path.slice(0, tab);
}

/** `rename to x` / `copy to x`. */
function extendedPath(line: string, head: string, where: string): string {
  const { path } = readPath(line, head.length, where);
  return line[head.length] === '"' ? path : path.replace(/\r$/, '');
}

/**
 * The name of `diff --git a/x b/x` (its b side, with its prefix) when no other line names it: for a
 * mode change or an empty file. An unquoted name may hold spaces; it is then found as the two halves
 * that agree (a rename says its names on lines of its own).
 */
function gitHeaderPath(header: string, where: string): string | undefined {
  if (header.startsWith('"')) {
    const r = readPath(header, 0, where).rest.trimStart();
    return r.startsWith('"') ? readPath(r, 0, where).path : r || undefined;
  }
  const q = header.indexOf(' "');
  if (q !== -1) return readPath(header, q + 1, where).path;
  if (header.length % 2 === 0) return undefined;
  const half = (header.length - 1) / 2;
  const [l, r] = [header.slice(0, half), header.slice(half + 1)];
  if (header[half] !== ' ') return undefined;
  return l === r || (l.startsWith('a/') && r.startsWith('b/') && l.slice(2) === r.slice(2)) ? r : undefined;
}

/**
 * Whether the section's names carry git's `a/` and `b/` prefixes: every name it has starts with its
 * own (a `--no-prefix` diff of `lib/x` keeps `lib/x`; /dev/null stands for no file).
 */
function hasPrefixes(s: Section): boolean {
  const ok = (p: string | undefined, pre: string) => p === undefined || p === '/dev/null' || p.startsWith(pre);
  return (s.gitHeader === undefined || /^"?a\//.test(s.gitHeader)) && ok(s.minus, 'a/') && ok(s.plus, 'b/');
}

function unprefixed(s: Section, path: string, side: 'a' | 'b'): string {
  return hasPrefixes(s) && path.startsWith(`${side}/`) ? path.slice(2) : path;
}

/**
 * Parses the text of a unified diff. `name` is how messages name the input (`--diff pr.diff`).
 * Text before the first file header (a commit message, `git show`'s header) and between files is
 * skipped, as `git apply` does; a non-empty text with no file header at all is not a diff and is
 * refused, and so is a file named twice (several diffs concatenated number their lines differently).
 */
export function parseDiff(text: string, name = 'diff'): ParsedDiff {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const files = new Map<string, number[]>();
  const firstLine = new Map<string, number>();
  const deleted: string[] = [];
  let section: Section | undefined;
  let sawText = false;
  const at = (line: number) => `${name}: line ${line}`;

  const finish = () => {
    const s = section;
    section = undefined;
    if (!s) return;
    const where = at(s.line);
    if (s.deletedFile || s.plus === '/dev/null') {
      const old = s.minus !== undefined && s.minus !== '/dev/null' ? s.minus : s.gitHeader !== undefined ? gitHeaderPath(s.gitHeader, where) : undefined;
      if (old !== undefined) deleted.push(unprefixed(s, old, old === s.minus ? 'a' : 'b'));
      return;
    }
    // `rename to` names are written without a prefix; the others with git's.
    const fromHeader = s.gitHeader !== undefined ? gitHeaderPath(s.gitHeader, where) : undefined;
    const path = s.plus !== undefined ? unprefixed(s, s.plus, 'b')
      : s.renameTo ?? (fromHeader !== undefined ? unprefixed(s, fromHeader, 'b') : undefined);
    if (path === undefined) return; // a mode change or a rename whose name has spaces: no line added either way
    if (path === '') throw new DiffError(`${where}: an empty file name`);
    const before = firstLine.get(path);
    if (before !== undefined) {
      throw new DiffError(`${where}: ${JSON.stringify(path)} again (first at line ${before}); give one diff (git diff origin/main...HEAD), not several put together`);
    }
    firstLine.set(path, s.line);
    files.set(path, s.added);
  };

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('diff --git ')) {
      finish();
      section = { line: i + 1, gitHeader: line.slice('diff --git '.length).replace(/\r$/, ''), deletedFile: false, added: [], hunks: 0, end: 0 };
      continue;
    }
    if (line.startsWith('diff --cc ') || line.startsWith('diff --combined ') || line.startsWith('@@@ ')) {
      throw new DiffError(`${at(i + 1)}: a combined diff (of a merge commit) is not read; diff the two commits instead: git diff origin/main...HEAD`);
    }
    if (line.startsWith('--- ') && lines[i + 1]?.startsWith('+++ ')) {
      // The names of this section, or the start of a file of a diff without `diff --git` lines.
      if (!section || section.minus !== undefined || section.hunks > 0) {
        finish();
        section = { line: i + 1, deletedFile: false, added: [], hunks: 0, end: 0 };
      }
      section.minus = headerPath(line, at(i + 1));
      section.plus = headerPath(lines[i + 1]!, at(i + 2));
      i++;
      continue;
    }
    if (line.startsWith('@@')) {
      const m = HUNK.exec(line);
      if (!m) throw new DiffError(`${at(i + 1)}: not a hunk header (expected "@@ -OLD,COUNT +NEW,COUNT @@"): ${JSON.stringify(line.slice(0, 80))}`);
      if (!section || section.plus === undefined) {
        throw new DiffError(`${at(i + 1)}: a hunk with no file header before it (--- a/FILE and +++ b/FILE); was the diff cut at its start?`);
      }
      const header = i + 1;
      let oldLeft = m[2] === undefined ? 1 : Number(m[2]);
      let newLeft = m[4] === undefined ? 1 : Number(m[4]);
      let next = Number(m[3]);
      if (newLeft > 0 && next <= section.end) {
        throw new DiffError(`${at(header)}: this hunk starts at line ${next} of the new file, inside the hunk above it; a file's hunks come in order`);
      }
      section.hunks++;
      while (oldLeft > 0 || newLeft > 0) {
        i++;
        if (i >= lines.length) {
          throw new DiffError(`${name}: the diff ends inside the hunk of line ${header} (${oldLeft} old and ${newLeft} new lines missing); was it cut short?`);
        }
        const l = lines[i]!;
        const c = l[0];
        if (c === '\\') continue; // "\ No newline at end of file"
        // An empty line is an empty context line whose space an editor or a mailer trimmed.
        if (c === ' ' || c === undefined || l === '\r') {
          oldLeft--; newLeft--; next++;
        } else if (c === '+') {
          section.added.push(next++);
          newLeft--;
        } else if (c === '-') {
          oldLeft--;
        } else {
          throw new DiffError(`${at(i + 1)}: the hunk of line ${header} expects ${oldLeft} more old and ${newLeft} more new lines, but this line starts with neither " ", "+" nor "-"; was the diff edited or cut?`);
        }
        if (oldLeft < 0 || newLeft < 0) {
          throw new DiffError(`${at(i + 1)}: more lines than the hunk header of line ${header} counts; was the diff edited?`);
        }
      }
      section.end = next - 1;
      // The marker of a last line without a newline comes after the counts run out.
      if (lines[i + 1]?.startsWith('\\')) i++;
      // Added lines past a hunk's count: its header says fewer lines than it has.
      const after = lines[i + 1];
      if (after !== undefined && after.startsWith('+') && !after.startsWith('+++ ')) {
        throw new DiffError(`${at(i + 2)}: an added line after the hunk of line ${header} ended; its header counts fewer lines than it has: was the diff edited?`);
      }
      continue;
    }
    if (section && section.hunks === 0) {
      if (line.startsWith('deleted file mode ')) section.deletedFile = true;
      else if (line.startsWith('rename to ')) section.renameTo = extendedPath(line, 'rename to ', at(i + 1));
      else if (line.startsWith('copy to ')) section.renameTo = extendedPath(line, 'copy to ', at(i + 1));
      continue;
    }
    if (line.trim() !== '') sawText = true;
  }
  finish();
  if (files.size === 0 && deleted.length === 0 && sawText) {
    throw new DiffError(`${name}: no file header (diff --git, or --- and +++) found: is it a unified diff? Make one with git diff origin/main...HEAD > pr.diff`);
  }
  return { files, deleted };
}
