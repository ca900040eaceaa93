// Called by the Makefile: node build.mjs <function> <artifacts dir>
import { build } from 'esbuild';
import { coverageInstrument } from 'lambda-coverage/esbuild';

/** @type {Record<string, string>} */
const entries = {
  api: 'src/handlers/api.ts',
  queue: 'src/handlers/queue.ts',
};
const [name, outdir] = process.argv.slice(2);
if (!name || !(name in entries) || !outdir) {
  console.error(`usage: node build.mjs <${Object.keys(entries).join('|')}> <outdir>`);
  process.exit(2);
}
await build({
  entryPoints: [/** @type {string} */ (entries[name])],
  outfile: `${outdir}/index.mjs`,
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  sourcemap: true,
  // src/ links to the shared example sources: keep the link paths so coverage keys stay src/….
  preserveSymlinks: true,
  external: ['@aws-sdk/*'],
  plugins: [coverageInstrument()],
});
