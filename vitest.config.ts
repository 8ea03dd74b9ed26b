import { defineConfig } from 'vitest/config';

// Two projects: `unit` (pure logic, parallel) and `integration` (real Redis,
// real ffmpeg, the simulated camera; one file at a time so timings are sane
// on a 2-core machine).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['libs/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts', 'tools/*/src/**/*.test.ts'],
          globalSetup: ['test/global-setup.ts'],
          environment: 'node',
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
