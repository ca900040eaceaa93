import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Bounds, not speed checks: on a shared 2-core machine under load an integration test that takes
    // 20 s when quiet (real esbuild builds, aws-lambda-ric containers, awscli) has taken 60 s.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Integration tests start real servers and child processes; two cores.
    maxWorkers: 2,
  },
});
