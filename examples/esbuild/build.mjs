// The whole integration: add coverageInstrument() to your esbuild plugins.
// Test-stage build:   COVERAGE_ENABLED=1 node build.mjs   (instrumented, writes lambda-coverage-manifest.json)
// Production build:   node build.mjs                      (plugin registers nothing; output is unchanged)
import { build } from 'esbuild';
import { coverageInstrument } from 'lambda-coverage/esbuild';

await build({
  entryPoints: ['src/handler.ts'],
  outfile: 'dist/handler/index.mjs',
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  sourcemap: true,
  // The AWS SDK v3 is part of the Lambda Node runtime; do not bundle it.
  external: ['@aws-sdk/*'],
  plugins: [
    coverageInstrument({
      // Defaults shown: your own sources, never node_modules, tests or .d.ts.
      include: ['src/**'],
      exclude: ['**/*.test.ts'],
    }),
  ],
});
