/**
 * The build manifest's line layout, both directions: the plugin writes one `"key":{maps}` entry a line
 * (plain JSON all the same), so the plugin merging into its own manifest and the runtime reading it at
 * the first flush take keys and hashes without parsing a megabyte of maps. Any other valid manifest is
 * read with JSON.parse + parseManifest by the callers. Pure.
 */
import { FORMAT_VERSION, MANIFEST_FORMAT } from './documents.js';

const HEADER_START = `{"format":${JSON.stringify(MANIFEST_FORMAT)},"version":${FORMAT_VERSION},`;
// Only the start of a line is matched (its key): the maps after it are taken as they are.
const ENTRY_KEY = /^("(?:[^"\\]|\\.)*"):\{/;
/** A FileMaps entry as the plugin writes it starts with its path and its hash. */
const ENTRY_HASH = /^\{"path":"(?:[^"\\]|\\.)*","hash":"((?:[^"\\]|\\.)*)",/;

/** The manifest text: header line, one `"key":{maps}` line per file (sorted), closing line. */
export function renderManifest(entries: ReadonlyMap<string, string>, generator: string, now: Date = new Date()): string {
  const keys = [...entries.keys()].sort();
  const lines = keys.map((k) => `${JSON.stringify(k)}:${entries.get(k)!}`);
  return `${HEADER_START}"createdAt":${JSON.stringify(now.toISOString())},"generator":${JSON.stringify(generator)},"files":{\n${lines.join(',\n')}\n}}\n`;
}

/** Key → JSON text of its maps, when `text` is in the line layout; undefined otherwise (parse it). */
export function readManifestLines(text: string): Map<string, string> | undefined {
  const lines = text.split('\n');
  const first = lines[0] ?? '';
  if (!first.startsWith(HEADER_START) || !first.endsWith('"files":{') || lines.at(-2) !== '}}' || lines.at(-1) !== '') return undefined;
  const out = new Map<string, string>();
  for (let i = 1; i < lines.length - 2; i++) {
    const line = lines[i]!;
    const entry = line.endsWith(',') ? line.slice(0, -1) : line;
    const m = ENTRY_KEY.exec(entry);
    if (m === null || !entry.endsWith('}')) return undefined;
    out.set(JSON.parse(m[1]!) as string, entry.slice(m[1]!.length + 1));
  }
  return out;
}

/** Where one file's maps are in a manifest's bytes (readManifestIndex): [start, end) of its JSON. */
export interface ManifestSpan { hash: string; start: number; end: number }

const NEWLINE = 0x0a;
const HASH_FIELD = Buffer.from(',"hash":"');
const CLOSING = '\n}}\n';

/**
 * readManifestLines over the file's bytes: key → the hash and where the maps' JSON is. Only each
 * line's start (key, path, hash) is decoded, so a megabyte of maps is never turned into strings: the
 * runtime sends them as the bytes they are (a string copy of the manifest, and a second one joined
 * into the maps document, grew a container's heap by ~7 MB, measured). Undefined when `bytes` is not
 * in the line layout, or a line does not start with its path and hash (parse it then).
 */
export function readManifestIndex(bytes: Buffer): Map<string, ManifestSpan> | undefined {
  const firstEnd = bytes.indexOf(NEWLINE);
  if (firstEnd < 0) return undefined;
  const first = bytes.toString('utf8', 0, firstEnd);
  if (!first.startsWith(HEADER_START) || !first.endsWith('"files":{')) return undefined;
  const stop = bytes.length - CLOSING.length;
  if (stop <= firstEnd || bytes.toString('latin1', stop) !== CLOSING) return undefined;
  const out = new Map<string, ManifestSpan>();
  for (let pos = firstEnd + 1; pos <= stop;) {
    const lineEnd = bytes.indexOf(NEWLINE, pos);
    const end = bytes[lineEnd - 1] === 0x2c && lineEnd < stop ? lineEnd - 1 : lineEnd;
    if (bytes[end - 1] !== 0x7d) return undefined;
    const at = bytes.indexOf(HASH_FIELD, pos);
    const close = at < 0 || at >= end ? -1 : stringEnd(bytes, at + HASH_FIELD.length, end);
    if (close < 0 || close + 1 >= end) return undefined;
    const head = bytes.toString('utf8', pos, close + 2);
    const m = ENTRY_KEY.exec(head);
    const hash = m === null ? undefined : entryHash(head.slice(m[1]!.length + 1));
    if (m === null || hash === undefined) return undefined;
    out.set(JSON.parse(m[1]!) as string, { hash, start: pos + Buffer.byteLength(m[1]!) + 1, end });
    pos = lineEnd + 1;
  }
  return out;
}

/** The index of the quote that ends the JSON string whose text starts at `from` (-1: none before `end`). */
function stringEnd(bytes: Buffer, from: number, end: number): number {
  for (let i = from; i < end; i++) {
    if (bytes[i] === 0x5c) i++;
    else if (bytes[i] === 0x22) return i;
  }
  return -1;
}

/** The hash at the start of an entry's JSON text, without parsing its maps; undefined when not there. */
export function entryHash(json: string): string | undefined {
  const m = ENTRY_HASH.exec(json);
  return m === null ? undefined : (JSON.parse(`"${m[1]!}"`) as string);
}

/** Whether a manifest's first line is this layout's header, written by `generator`. */
export function writtenBy(firstLine: string, generator: string): boolean {
  return firstLine.startsWith(HEADER_START) && firstLine.endsWith(`,"generator":${JSON.stringify(generator)},"files":{`);
}
