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

/** The hash at the start of an entry's JSON text, without parsing its maps; undefined when not there. */
export function entryHash(json: string): string | undefined {
  const m = ENTRY_HASH.exec(json);
  return m === null ? undefined : (JSON.parse(`"${m[1]!}"`) as string);
}

/** Whether a manifest's first line is this layout's header, written by `generator`. */
export function writtenBy(firstLine: string, generator: string): boolean {
  return firstLine.startsWith(HEADER_START) && firstLine.endsWith(`,"generator":${JSON.stringify(generator)},"files":{`);
}
