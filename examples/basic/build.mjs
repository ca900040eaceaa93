// Builds one bundle per handler. COVERAGE_ENABLED=1 turns on instrumentation (the test-stage build).
import { build } from 'esbuild';
import { coverageInstrument } from 'lambda-coverage/esbuild';

const root = new URL('.', import.meta.url).pathname;
const outRoot = process.argv[2] ?? `${root}dist`;

for (const name of ['api', 'queue', 'nightly']) {
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
    plugins: [coverageInstrument()],
  });
}
