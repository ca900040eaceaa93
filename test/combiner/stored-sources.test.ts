// The combiner's use of source text stored with a build (sources documents), over real shards and
// maps written in the S3 layout on disk (--dir), real gzip and the real HTML reporter: shown where the
// file is not under --source-root, never preferred to the file on disk, and every hostile document
// (a text of another version, one over its bound, a gzip bomb, garbage) skipped and named while the
// combine goes on.
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { createInstrumenter } from 'istanbul-lib-instrument';
import { beforeAll, describe, expect, it } from 'vitest';
import { combine } from '../../combiner/combine.js';
import { sourceMismatch } from '../../combiner/stored-sources.js';
import { SOURCES_FORMAT, SOURCES_VERSION, encodeJsonGz, sourcesKey } from '../../contract/format.js';
import { APP, FILES, instrument, invoke, runContainer, toShard, writeShardFiles } from './helpers.js';

const PREFIX = 'coverage/';
let work: string;
let empty: string;
let s: ReturnType<typeof toShard>;
const text = (f: string) => readFileSync(join(APP, f), 'utf8');

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lc-stored-'));
  empty = join(work, 'no-checkout');
  mkdirSync(empty);
  s = toShard(runContainer(instrument(), (m) => invoke(m, 0)));
});

/** A --dir laid out as the bucket: the shard, its maps and (when given) its sources document. */
function layout(name: string, sources?: Buffer): string {
  const root = join(work, name);
  writeShardFiles(root, PREFIX, s);
  if (sources !== undefined) {
    const key = join(root, sourcesKey(PREFIX, s.shard.functionName, s.shard.mapId!));
    mkdirSync(dirname(key), { recursive: true });
    writeFileSync(key, sources);
  }
  return root;
}

function sourcesDoc(texts: Record<string, string> = Object.fromEntries(FILES.map((f) => [s.maps.files[f]!.hash, text(f)]))): Buffer {
  return encodeJsonGz({ format: SOURCES_FORMAT, version: SOURCES_VERSION, files: texts });
}

async function run(root: string, extra: Parameters<typeof combine>[0] = {}) {
  const out = join(root, 'report');
  const r = await combine({ dirs: [root], out, cwd: root, sourceRoot: empty, reporters: ['html', 'json'], threads: 0, ...extra });
  // Every file is under src/: istanbul-reports leaves that folder out of the page's name.
  const page = (f: string) => readFileSync(join(out, `${basename(f)}.html`), 'utf8');
  return { r, page };
}

describe('source text stored with a build', () => {
  it('Istanbul\'s hash is of the coverage data, not of the text: two texts, one hash (why texts are checked against the maps)', () => {
    const inst = createInstrumenter({ coverageVariable: '__coverage__', esModules: false });
    const hashOf = (code: string) => /var hash ?= ?"([0-9a-f]+)"/.exec(inst.instrumentSync(code, 'src/x.js'))![1];
    expect(hashOf("module.exports = () => 'abc';\n")).toBe(hashOf("module.exports = () => 'xyz';\n"));
    expect(hashOf("module.exports = () => 'abc';\n")).not.toBe(hashOf("\nmodule.exports = () => 'abc';\n"));
  });

  it('shows each file\'s stored text where the file is not under --source-root', async () => {
    const { r, page } = await run(layout('good', sourcesDoc()));
    expect(r.summary.storedSources).toEqual({ documents: 1, shown: [...FILES], problems: [] });
    expect(r.summary.missingSources).toEqual([]);
    for (const f of FILES) {
      expect(page(f)).not.toContain('Source not shown');
      // istanbul-reports escapes the text it is given; the first line of each file appears as such.
      const first = text(f).split('\n').find((l) => l.trim().length > 8)!.trim().replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
      expect(page(f)).toContain(first.slice(0, 12));
    }
  });

  it('prefers the file on disk: with the checkout, the sources document is not even read', async () => {
    const { r } = await run(layout('checkout', sourcesDoc()), { sourceRoot: APP });
    expect(r.summary.storedSources).toEqual({ documents: 0, shown: [], problems: [] });
    expect(r.summary.missingSources).toEqual([]);
  });

  it('a build without a sources document has no stored source, and that is no error', async () => {
    const { r, page } = await run(layout('none'));
    expect(r.summary.storedSources).toEqual({ documents: 0, shown: [], problems: [] });
    expect(r.summary.missingSources).toEqual([...FILES]);
    expect(r.summary.skipped).toEqual([]);
    expect(page('src/calc.js')).toContain('Source not shown');
  });

  it('a text of another version of the file (lines moved) is not shown, and is named', async () => {
    const [calc, greet] = FILES;
    const texts = { [s.maps.files[calc]!.hash]: `// a line added above\n${text(calc)}`, [s.maps.files[greet]!.hash]: text(greet) };
    const { r, page } = await run(layout('moved', sourcesDoc(texts)));
    expect(r.summary.storedSources.shown).toEqual([greet]);
    expect(r.summary.storedSources.problems).toEqual([{ source: calc, reason: expect.stringContaining('does not match this version\'s maps') }]);
    expect(r.summary.missingSources).toEqual([calc]);
    expect(page(calc)).toContain('Source not shown');
    expect(page(calc)).not.toContain('a line added above');
  });

  it('a shorter text (cut off) is refused by its locations', () => {
    const calc = s.maps.files[FILES[0]]!;
    expect(sourceMismatch(text(FILES[0]), calc)).toBeUndefined();
    expect(sourceMismatch(text(FILES[0]).slice(0, 40), calc)).toMatch(/is on line \d+, the text has \d+|column/);
  });

  it('a document over --max-sources-mb is skipped and named; the numbers are the same', async () => {
    const root = layout('over', sourcesDoc());
    const { r } = await run(root, { limits: { maxSourcesBytes: 200 } });
    expect(r.summary.storedSources.shown).toEqual([]);
    expect(r.summary.storedSources.problems).toEqual([{ source: expect.stringContaining('/sources/'), reason: expect.stringMatching(/over the bound of 200 bytes \(raise it with --max-sources-mb/) }]);
    const good = await run(layout('over-baseline'));
    expect(r.summary.totals).toEqual(good.r.summary.totals);
  });

  it('a gzip bomb as a sources document stops at the bound, is skipped and named', async () => {
    const root = layout('bomb');
    const file = join(root, sourcesKey(PREFIX, s.shard.functionName, s.shard.mapId!));
    mkdirSync(dirname(file), { recursive: true });
    // ~512 MiB of spaces in ~0.5 MB, streamed (never in memory); the default bound is 128 MiB.
    const chunk = Buffer.alloc(1 << 20, 0x20);
    let left = 512;
    await pipeline(new Readable({ read() { this.push(left-- > 0 ? chunk : null); } }), createGzip({ level: 9 }), createWriteStream(file));
    const rss = process.memoryUsage().rss;
    const { r } = await run(root);
    expect(r.summary.storedSources.problems).toEqual([{ source: file, reason: expect.stringMatching(/inflates further, over the bound of 128 MiB \(raise it with --max-sources-mb/) }]);
    expect(r.summary.missingSources).toEqual([...FILES]);
    expect(process.memoryUsage().rss - rss).toBeLessThan(400 * 1024 * 1024);
  }, 60_000);

  it('garbage, a wrong format and a non-string text are skipped and named', async () => {
    const cases: [string, Buffer, RegExp][] = [
      ['garbage', Buffer.from('not gzip and not json'), /not valid JSON/],
      ['format', encodeJsonGz({ format: 'lambda-coverage/maps', version: 1, files: {} }), /not a lambda-coverage\/sources document/],
      ['version', encodeJsonGz({ format: SOURCES_FORMAT, version: 99, files: {} }), /version 99 is not supported/],
      ['number', encodeJsonGz({ format: SOURCES_FORMAT, version: 1, files: { [s.maps.files[FILES[0]]!.hash]: 42 } }), /is not a string/],
      ['key', encodeJsonGz({ format: SOURCES_FORMAT, version: 1, files: { '<script>': 'x' } }), /is not an Istanbul hash/],
    ];
    for (const [name, bytes, reason] of cases) {
      const { r } = await run(layout(`bad-${name}`, bytes));
      expect(r.summary.storedSources.problems, name).toEqual([{ source: expect.stringContaining('/sources/'), reason: expect.stringMatching(reason) }]);
      expect(r.summary.missingSources, name).toEqual([...FILES]);
      expect(r.summary.shards, name).toBe(1);
    }
  });
});
