// Source without a checkout, on real parts: a real esbuild build with coverageInstrument({ sources: true })
// (and one with the default, off), both run behind the real layer through aws-lambda-ric against the
// local S3 server; the stored objects checked with awscli; then the combiner Lambda handler (no
// checkout: sourceRoot null) over that bucket, its uploaded HTML pages read back with awscli and
// rendered in headless Chromium: every file of the build made with sources shows its source, markup
// in that source is text, and the build made without shows none.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coverageInstrument } from '../../plugin/index.js';
import { ricAvailable, startContainer, type Container } from '../../scripts/local/lambda.mjs';
import { localS3Env, startLocalS3, type LocalS3 } from '../../scripts/local/s3.mjs';
import { chromiumAvailable, dumpDom } from '../../scripts/local/chromium.mjs';
import { SOURCES_FILE, parseSources } from '../../contract/format.js';
import { createHandler } from '../../combiner/handler.js';
import { AWS, awsGet, awsListKeys, awsMaps, coverageEnv, layerOpt, tempDir, BUCKET } from './helpers.js';

const ric = ricAvailable();
const missing = [!ric.ok && `aws-lambda-ric (${ric.ok ? '' : ric.reason})`, !existsSync(AWS) && AWS].filter(Boolean);
if (missing.length > 0) console.warn(`SKIPPED the sources runtime tests: missing ${missing.join(', ')}`);
if (!chromiumAvailable()) console.warn('SKIPPED the Chromium check of the sources report: /usr/bin/chromium missing (scripts/system-deps.sh installs it)');
const d = missing.length === 0 ? describe : describe.skip;

/** Markup in a source file: the report must show it as text. */
const MARKUP = `</pre><script>globalThis.__pwned = 1</script><img src="x" onerror="globalThis.__pwned = 2">`;

const FILES_ON: Record<string, string> = {
  'src/math.ts': `export function classify(n: number): string {
  if (n < 0) return 'negative';
  return n % 2 === 0 ? 'even' : 'odd';
}
// ${MARKUP} & a < b > c
export const banner = ${JSON.stringify(MARKUP)};
export function unused(): number { return 42; }
`,
  'src/handler.ts': `import { classify, banner } from './math';
interface Ev { n: number }
export async function handler(event: Ev) {
  if (typeof event.n !== 'number') throw new TypeError('n must be a number');
  return { kind: classify(event.n), banner: banner.length };
}
`,
};
const FILES_OFF: Record<string, string> = {
  'lib/plain.ts': `export async function handler(event: { n: number }) {
  return { twice: event.n * 2 };
}
`,
};

function project(files: Record<string, string>): string {
  const dir = tempDir('srcproj');
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(dir, dirname(p)), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  return dir;
}

async function bundle(dir: string, entry: string, sources: boolean | undefined): Promise<string> {
  const out = join(dir, 'dist');
  await build({
    absWorkingDir: dir, entryPoints: [entry], bundle: true, platform: 'node', target: 'node22',
    format: 'esm', outfile: join(out, 'index.mjs'), logLevel: 'silent',
    plugins: [coverageInstrument({ enabled: true, cwd: dir, cache: false, workers: 0, summary: false, ...(sources === undefined ? {} : { sources }) })],
  });
  return out;
}

let s3: LocalS3;
let opt: string;
const containers: Container[] = [];
beforeAll(async () => { s3 = await startLocalS3({ buckets: [BUCKET] }); opt = layerOpt(); });
afterAll(async () => {
  await Promise.all(containers.map((c) => c.shutdown().catch(() => undefined)));
  await s3?.stop();
});

async function runBehindLayer(taskRoot: string, fn: string, events: unknown[]): Promise<void> {
  const env = coverageEnv(s3.endpoint, { AWS_LAMBDA_EXEC_WRAPPER: `${opt}/lambda-coverage` });
  const c = await startContainer({ taskRoot, optDir: opt, handler: 'index.handler', env, functionName: fn });
  containers.push(c);
  await c.initDone;
  for (const e of events) await c.invoke(e);
}

d('source without a checkout (plugin sources: true → layer → S3 → combiner Lambda → HTML)', () => {
  let onRoot: string;
  let offRoot: string;

  it('the plugin writes the sources document beside the manifest with sources: true, and none by default', async () => {
    onRoot = await bundle(project(FILES_ON), 'src/handler.ts', true);
    offRoot = await bundle(project(FILES_OFF), 'lib/plain.ts', undefined);
    expect(existsSync(join(onRoot, 'lambda-coverage-manifest.json'))).toBe(true);
    expect(existsSync(join(onRoot, SOURCES_FILE))).toBe(true);
    expect(existsSync(join(offRoot, 'lambda-coverage-manifest.json'))).toBe(true);
    expect(existsSync(join(offRoot, SOURCES_FILE))).toBe(false);
    const doc = parseSources(JSON.parse(gunzipSync(readFileSync(join(onRoot, SOURCES_FILE))).toString('utf8')));
    expect(Object.values(doc.files).sort()).toEqual(Object.values(FILES_ON).sort());
  });

  it('the layer writes it once, beside the maps under the same id, only for the build made with sources (awscli)', async () => {
    await runBehindLayer(onRoot, 'src-on', [{ n: 1 }, { n: 2 }, { n: -3 }, { n: 'x' }]);
    await runBehindLayer(offRoot, 'src-off', [{ n: 1 }]);
    const [mapsKey] = await awsListKeys(s3.endpoint, 'coverage/src-on/maps/');
    const sourceKeys = await awsListKeys(s3.endpoint, 'coverage/src-on/sources/');
    expect(sourceKeys).toEqual([mapsKey!.replace('/maps/', '/sources/')]);
    expect(await awsListKeys(s3.endpoint, 'coverage/src-off/sources/')).toEqual([]);
    expect(await awsListKeys(s3.endpoint, 'coverage/src-off/maps/')).toHaveLength(1);

    const maps = await awsMaps(s3.endpoint, mapsKey!);
    const { bytes } = await awsGet(s3.endpoint, sourceKeys[0]!);
    expect([bytes[0], bytes[1]]).toEqual([0x1f, 0x8b]); // stored compressed
    const doc = parseSources(JSON.parse(gunzipSync(bytes).toString('utf8')), sourceKeys[0]);
    // Each file's exact text, under the Istanbul hash of the version the maps (and counters) describe.
    for (const [path, text] of Object.entries(FILES_ON)) expect(doc.files[maps.files[path]!.hash]).toBe(text);
  }, 120_000);

  it('the combiner Lambda handler (no checkout) publishes HTML whose file pages show every file\'s source (headless Chromium)', async () => {
    const handler = createHandler({ endpointUrl: s3.endpoint, forcePathStyle: true, env: localS3Env(s3.endpoint), threads: 0 });
    const res = await handler({ bucket: BUCKET, functions: ['src-on', 'src-off'], runId: 'sources-1', reporters: ['html', 'json'] });
    expect(res.ok).toBe(true);
    expect(res.summary.storedSources.shown.sort()).toEqual(Object.keys(FILES_ON).sort());
    expect(res.summary.storedSources.problems).toEqual([]);
    expect(res.summary.missingSources).toEqual(['lib/plain.ts']);

    // The pages as published, read back with awscli into a folder of their own.
    const site = tempDir('site');
    for (const key of res.keys.filter((k) => k.endsWith('.html') || k.endsWith('.css') || k.endsWith('.js'))) {
      const file = join(site, key.slice(res.outputPrefix.length));
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, (await awsGet(s3.endpoint, key)).bytes);
    }
    const pageOf = (p: string) => join(site, `${p}.html`);
    for (const p of [...Object.keys(FILES_ON), ...Object.keys(FILES_OFF)]) expect(existsSync(pageOf(p)), p).toBe(true);
    const raw = readFileSync(pageOf('src/math.ts'), 'utf8');
    expect(raw).not.toContain('Source not shown');
    expect(raw).not.toContain('<script>globalThis.__pwned');
    expect(readFileSync(pageOf('lib/plain.ts'), 'utf8')).toContain('Source not shown');
    if (!chromiumAvailable()) return;

    // The DOM's text (prettify splits it into spans): tags dropped, entities decoded.
    const textOf = (dom: string) => dom.replace(/<[^>]*>/g, '').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
    for (const [path, text] of Object.entries(FILES_ON)) {
      const dom = await dumpDom(pageOf(path));
      const shown = textOf(dom);
      for (const line of text.split('\n').filter((l) => l.trim() !== '')) expect(shown, `${path}: ${line}`).toContain(line.trim());
      expect(shown).not.toContain('Source not shown');
      // Markup of the source is text: no element from it, no script of it ran.
      expect(dom).not.toMatch(/<img[^>]*src="x"/);
      expect(dom).not.toMatch(/<script>globalThis\.__pwned/);
    }
    const plain = textOf(await dumpDom(pageOf('lib/plain.ts')));
    expect(plain).toContain('Source not shown');
    expect(plain).not.toContain('event.n * 2');
  }, 180_000);
});
