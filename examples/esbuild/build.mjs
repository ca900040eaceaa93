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
    // Without options: every file of the project esbuild loads, except node_modules, .d.ts and tests.
    // Narrowed here to src/; `exclude` replaces the default list (node_modules and .d.ts stay out).
    coverageInstrument({
      include: ['src/**'],
      exclude: ['**/*.test.ts'],
    }),
  ],
});
