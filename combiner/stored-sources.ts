/**
 * Source text stored beside a build's maps (the plugin's `sources: true`, written by the layer as
 * `{prefix}{function}/sources/{mapId}.json.gz`), for the HTML report where a file is not on disk: the
 * combiner Lambda, a CI job without the checkout, a file outside --source-root.
 *
 * A source (S3 or a directory) tells the catalog where each build's sources document is as it loads
 * that build's maps; after the merge, only the documents of builds that hold a kept file version
 * which the report cannot read from disk are fetched, with bounded concurrency. A build without a
 * sources document simply has no stored source; a document that is corrupt, over its bound or not
 * readable is skipped and named. Everything in it is untrusted input:
 *
 * Istanbul's `hash` is sha1 of a file's coverage data (its path and static maps; istanbul-lib-instrument
 * visitor.js), not of its text, so no text can be checked against the hash itself. Each text is
 * checked against the maps of the version that hash names, which are the maps the report draws on
 * it: every statement, function and branch location must lie inside the text, and every named
 * function's name must stand where its declaration is. A text of another version of the file fails
 * (lines and names move); it is not shown and is named in the summary.
 */
import {
  decodeJsonGz, parseSources, type FileMaps, type InputLimits, type MapsDocument, type Range,
} from '../contract/format.js';
import type { MergedFile } from './merge.js';

/** Where one build's sources document is, and how to read it (null: there is none). */
interface StoredBuild {
  maps: MapsDocument;
  where: string;
  read: () => Promise<StoredBytes | null>;
}

/** A sources document's bytes and where they were read (named in every message about it). */
export interface StoredBytes { bytes: Uint8Array; where: string }

export interface SourceProblem {
  /** The sources document (`s3://…` or a file), or the file whose text was refused. */
  source: string;
  reason: string;
}

/** Filled by the input sources as they load maps documents (combiner/sources.ts). */
export class SourcesCatalog {
  readonly #builds = new Map<string, StoredBuild>();

  /** A build's maps were loaded: its sources document would be at `sourcesAt` (null from `read`: it is not). */
  add(mapId: string, maps: MapsDocument, sourcesAt: string, read: () => Promise<StoredBytes | null>): void {
    if (!this.#builds.has(mapId)) this.#builds.set(mapId, { maps, where: sourcesAt, read });
  }

  get size(): number {
    return this.#builds.size;
  }

  /**
   * Fetches the sources documents of the builds that hold any of `wanted` (Istanbul hashes) and
   * returns hash → text for those hashes. At most `concurrency` documents are read at a time.
   */
  async load(wanted: ReadonlySet<string>, limits: InputLimits, concurrency = 8): Promise<{ texts: Map<string, string>; problems: SourceProblem[]; documents: number }> {
    const texts = new Map<string, string>();
    const problems: SourceProblem[] = [];
    const todo = [...this.#builds.values()].filter((b) => Object.values(b.maps.files).some((f) => wanted.has(f.hash)));
    let documents = 0;
    const worker = async (): Promise<void> => {
      for (let b = todo.shift(); b !== undefined; b = todo.shift()) {
        let where = b.where;
        try {
          const got = await b.read();
          if (got === null) continue; // built without `sources: true`: no source, no error
          where = got.where;
          const doc = parseSources(decodeJsonGz(got.bytes, where, limits, 'maxSourcesBytes'), where, limits);
          documents++;
          for (const [hash, text] of Object.entries(doc.files)) if (wanted.has(hash) && !texts.has(hash)) texts.set(hash, text);
        } catch (e) {
          const message = (e as Error).message;
          problems.push({ source: where, reason: `${message.startsWith(`${where}: `) ? message.slice(where.length + 2) : message}; skipped, its files show no source` });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, todo.length)) }, worker));
    return { texts, problems: problems.sort((a, b) => (a.source < b.source ? -1 : 1)), documents };
  }
}

/** Babel's (and so Istanbul's) line terminators. */
const LINE_BREAK = /\r\n?|[\n\u2028\u2029]/;

/**
 * Why `text` is not the text `maps` describe, or undefined when it fits them: every location inside
 * the text (a line that exists, a column within it), every named function's name at its declaration.
 */
export function sourceMismatch(text: string, maps: Pick<FileMaps, 'statementMap' | 'fnMap' | 'branchMap'>): string | undefined {
  const lines = text.split(LINE_BREAK);
  const inside = (r: Range | undefined, what: string): string | undefined => {
    if (r === undefined) return undefined;
    for (const [p, end] of [[r.start, false], [r.end, true]] as const) {
      // Istanbul's implicit `else` arm has empty positions.
      if (p?.line === undefined) continue;
      const line = lines[p.line - 1];
      if (p.line < 1 || line === undefined) return `${what} is on line ${p.line}, the text has ${lines.length}`;
      const col = p.column ?? 0;
      // An end column may stand one past the line (Babel's end of a statement that ends the line).
      if (col > line.length + (end ? 1 : 0)) return `${what} is at column ${col} of line ${p.line}, which has ${line.length} characters`;
    }
    return undefined;
  };
  for (const [k, r] of Object.entries(maps.statementMap)) {
    const bad = inside(r, `statement ${k}`);
    if (bad) return bad;
  }
  for (const [k, fn] of Object.entries(maps.fnMap)) {
    const bad = inside(fn.decl, `function ${k}`) ?? inside(fn.loc, `function ${k}`);
    if (bad) return bad;
    // A named function's declaration is its name (istanbul-lib-instrument takes the identifier's location).
    const { start, end } = fn.decl;
    if (!fn.name.startsWith('(anonymous_') && start.line === end.line && start.column !== null && end.column !== null
      && end.column - start.column === fn.name.length) {
      const at = lines[start.line - 1]!.slice(start.column, end.column);
      if (at !== fn.name) return `function ${JSON.stringify(fn.name)} is declared at line ${start.line}, column ${start.column}, where the text has ${JSON.stringify(at.slice(0, 40))}`;
    }
  }
  for (const [k, br] of Object.entries(maps.branchMap)) {
    const bad = inside(br.loc, `branch ${k}`) ?? br.locations.map((l, i) => inside(l, `branch ${k} arm ${i}`)).find(Boolean);
    if (bad) return bad;
  }
  return undefined;
}

/** A finder of stored source text for one report's files: text by path, checked against its maps. */
export interface StoredSourceFinder {
  find(path: string): string | undefined;
}

/**
 * The stored texts of one report's files (`files`: one build's kept versions), each checked against
 * its version's maps on first use; a text that does not fit is refused and named in `problems`.
 */
export function storedSourceFinder(files: readonly MergedFile[], texts: ReadonlyMap<string, string>, problems: SourceProblem[]): StoredSourceFinder {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const checked = new Map<string, string | undefined>();
  return {
    find(path) {
      if (checked.has(path)) return checked.get(path);
      const f = byPath.get(path);
      const text = f === undefined ? undefined : texts.get(f.hash);
      let ok: string | undefined;
      if (f !== undefined && text !== undefined) {
        const why = sourceMismatch(text, f.maps);
        if (why === undefined) ok = text;
        else problems.push({ source: path, reason: `the stored source text does not match this version's maps (hash ${f.hash.slice(0, 12)}): ${why}; not shown` });
      }
      checked.set(path, ok);
      return ok;
    },
  };
}
