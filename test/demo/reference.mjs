// The demo's reference: the same events in ONE process under plain Istanbul, with nothing of the
// demo's path (no lean counters, no manifest, no layer, no S3, no combiner). It bundles
// examples/basic's handlers itself with classic Istanbul objects in the bundle (`lean: false`), runs
// examples/basic/events.mjs against them and prints globalThis.__coverage__ as JSON.
// Each container is a separate module instance (its own in-memory state) of the same bundle; all of
// them count into this process's one __coverage__, as Istanbul does for repeated loads of a file.
// With a test name, only that test's events run, and it prints { load, end }: the counters after the
// modules loaded and at the end, so what that test moved is told apart from the modules' load.
// Usage: node reference.mjs <work dir> [test]
import { build } from 'esbuild';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { coverageInstrument } from 'lambda-coverage/esbuild';
import { EVENTS, FUNCTIONS } from '../../examples/basic/events.mjs';

const basic = resolve(import.meta.dirname, '../../examples/basic');
const outRoot = process.argv[2];
if (!outRoot) throw new Error('usage: node reference.mjs <work dir>');

const modules = new Map();
for (const fn of FUNCTIONS) {
  const outfile = join(outRoot, fn.name, 'index.mjs');
  await build({
    absWorkingDir: basic,
    entryPoints: [`src/handlers/${fn.name}.ts`],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    logLevel: 'silent',
    plugins: [coverageInstrument({ enabled: true, lean: false, cache: false, summary: false })],
  });
  for (let i = 0; i < fn.containers; i++) {
    modules.set(`${fn.name}#${i}`, await import(`${pathToFileURL(outfile).href}?container=${i}`));
  }
}
const only = process.argv[3];
const load = only === undefined ? undefined : structuredClone(globalThis.__coverage__);
for (const [fn, index, event, { test }] of EVENTS) {
  if (only !== undefined && test !== only) continue;
  try {
    await modules.get(`${fn}#${index}`).handler(event);
  } catch {
    // Failing events fail here as in Lambda; their coverage still counts.
  }
}
process.stdout.write(JSON.stringify(only === undefined ? globalThis.__coverage__ : { load, end: globalThis.__coverage__ }));
