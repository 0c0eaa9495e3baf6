import { defineConfig } from 'vitest/config';

/**
 * One vitest run for the whole suite. `test/global-setup.ts` starts one embedded PostgreSQL
 * (or uses DATABASE_URL) for the run; each integration test file gets a fresh database of its own.
 */
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
