// Builds one bundle per handler. COVERAGE_ENABLED=1 turns on instrumentation (the test-stage build).
import { build } from 'esbuild';
import { coverageInstrument } from 'lambda-coverage/esbuild';

// Usage: node build.mjs [outRoot] [function …]   (default: dist/, every function)
const root = new URL('.', import.meta.url).pathname;
const [outArg, ...names] = process.argv.slice(2);
const outRoot = outArg ?? `${root}dist`;

for (const name of names.length > 0 ? names : ['api', 'queue', 'nightly']) {
  await build({
    absWorkingDir: root,
    entryPoints: [`src/handlers/${name}.ts`],
    outfile: `${outRoot}/${name}/index.mjs`,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    sourcemap: true,
    logLevel: 'info',
    // sources: each file's text goes to the coverage bucket with its maps, so a report built where the
    // code is not (the combiner Lambda) shows it. Leave it out where source must not be in the bucket.
    plugins: [coverageInstrument({ sources: true })],
  });
}
