/**
 * `npm start`'s process on its own embedded PostgreSQL: it comes up, and on SIGTERM or SIGINT it stops in order
 * (HTTP, Agenda, pool, PostgreSQL) and exits 0, leaving no PostgreSQL running and no stale `postgres.url`. The URL it
 * publishes reaches PostgreSQL through the cluster's Unix socket.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { expect, it } from 'vitest';
import { freePort, isReachable } from '../../server/db/postgres.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  it(`stops cleanly on ${signal}`, async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'partnerkit-shutdown-'));
    chmodSync(dataDir, 0o755);
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: '',
        DATA_DIR: dataDir,
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'debug', // a failure shows how long each step of the stop took
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const until = Date.now() + 60_000;
      while (
        !existsSync(path.join(dataDir, 'postgres.url')) ||
        !(await fetch(`http://127.0.0.1:${port}/api/v1/openapi.json`)
          .then(async (r) => {
            await r.arrayBuffer();
            return r.ok;
          })
          .catch(() => false))
      ) {
        if (Date.now() > until) throw new Error(`server did not start:\n${output}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const dbUrl = readFileSync(path.join(dataDir, 'postgres.url'), 'utf8').trim();
      // The published URL goes through the cluster's Unix socket (cheaper than TCP loopback): no client address.
      const client = new pg.Client({ connectionString: dbUrl });
      await client.connect();
      const { rows } = await client.query('SELECT inet_client_addr() AS addr');
      await client.end();
      expect(rows[0].addr).toBeNull();
      child.kill(signal);
      expect(await exited, output).toBe(0);
      expect(existsSync(path.join(dataDir, 'postgres.url'))).toBe(false);
      expect(await isReachable(dbUrl)).toBe(false);
      expect(output).not.toMatch(/Unhandled|throw er/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
}
