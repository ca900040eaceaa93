// Called by the Makefile: node build.mjs <function> <artifacts dir>
import { build } from 'esbuild';
import { coverageInstrument } from 'lambda-coverage/esbuild';

const entries = {
  api: 'src/handlers/api.ts',
  queue: 'src/handlers/queue.ts',
  // The combiner is the package's own handler; it is not instrumented.
  combiner: 'node_modules/lambda-coverage/dist/combiner/index.js',
};
const [name, outdir] = process.argv.slice(2);
if (!name || !(name in entries) || !outdir) {
  console.error(`usage: node build.mjs <${Object.keys(entries).join('|')}> <outdir>`);
  process.exit(2);
}
await build({
  entryPoints: [entries[name]],
  outfile: `${outdir}/index.mjs`,
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  sourcemap: true,
  external: ['@aws-sdk/*'],
  banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  plugins: name === 'combiner' ? [] : [coverageInstrument()],
});
