/**
 * `npm run bench:batches` — the click ingest's group commit alone, without HTTP: how PostgreSQL's and Node's CPU
 * per click fall as batches grow. Starts a throwaway embedded PostgreSQL, creates a program with 200 approved
 * affiliates through the services, then submits clicks to `createClickIngest` from N concurrent callers (N = 10,
 * 25, 50, 100, 200) and prints, per N: clicks/s, clicks per batch, and CPU µs per click for this process and for
 * PostgreSQL (its postmaster and children, from `/proc`). Bounded: 30,000 clicks per row.
 *
 * Every caller waits for its batch, so a batch holds all N callers. Read the output as "PostgreSQL per click ≈
 * a + b / batch size": on the 2-core development VM (2026-11-29) 50 µs at 10 per batch, 36 at 25, 29 at 50 and
 * more, i.e. a ≈ 24 µs per click and b ≈ 260 µs per batch; Node's part falls from 24 to 6 µs. The HTTP bench's
 * figures (PostgreSQL 46–58 µs per click) match batches of ~10–14.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../../server/db/postgres.ts';
import { openDatabase } from '../../server/db/database.ts';
import { migrateToLatest } from '../../server/db/migrate.ts';
import { loadConfig } from '../../server/config.ts';
import { createServices } from '../../server/app.ts';
import { createClickIngest } from '../../server/tracking/click-ingest.ts';
import { cpuMs } from './proc-cpu.ts';

const CLICKS_PER_ROW = 30_000;
const UA =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';

const dir = mkdtempSync(path.join(os.tmpdir(), 'pk-batches-'));
chmodSync(dir, 0o755); // PostgreSQL runs as the `postgres` user when we are root
const postgres = await startEmbeddedPostgres({ clusterDir: path.join(dir, 'pg'), persistent: false, urlFile: null });
const handle = openDatabase(postgres.url, 20);
const db = handle.db;
// Batches written, counted on the way out (PostgreSQL's own commit counter is flushed at most once a second).
let batches = 0;
handle.pool.on('connect', (client) => {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as { query: unknown }).query = (text: unknown, ...rest: unknown[]) => {
    if (typeof text === 'string' && text.includes('click_batch')) batches++;
    return query(text, ...rest);
  };
});

const postgresCpuMs = () => cpuMs(undefined, path.join(dir, 'pg')).postgres;

try {
  await migrateToLatest(db);
  const config = loadConfig({
    DATABASE_URL: postgres.url,
    DATA_DIR: dir,
    PUBLIC_URL: 'http://127.0.0.1:1',
    SECRET_KEY: 'bench-secret-'.repeat(4),
    LOG_LEVEL: 'silent',
  });
  const services = createServices(db, config);
  const created = await services.programs.create({ name: 'Bench', website: 'https://bench.test' });
  const program = (await services.programs.findById(created.id))!;
  const affiliates: { id: string; code: string }[] = [];
  for (let i = 0; i < 200; i++) {
    const a = await services.affiliates.create(program, {
      email: `a${i}@bench.test`,
      name: `A${i}`,
      code: `aff${i}`,
      status: 'approved',
    });
    affiliates.push({ id: a.id, code: a.code });
  }

  let seq = 0;
  async function row(callers: number, print: boolean): Promise<void> {
    const ingest = createClickIngest({ db, now: () => new Date() });
    const [pg0, batches0, cpu0, t0] = [postgresCpuMs(), batches, process.cpuUsage(), performance.now()];
    let sent = 0;
    const caller = async () => {
      while (sent < CLICKS_PER_ROW) {
        sent++;
        const i = ++seq;
        const a = affiliates[i % affiliates.length]!;
        await ingest.submit({
          programId: program.id,
          cookieDays: 30,
          attributionModel: 'last_click',
          affiliateId: a.id,
          affiliateCode: a.code,
          linkId: null,
          url: 'https://bench.test/?ref=x',
          referrer: null,
          ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
          userAgent: UA,
        });
      }
    };
    await Promise.all(Array.from({ length: callers }, caller));
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const written = batches - batches0;
    if (!print) return;
    console.log(
      `${String(callers).padStart(7)} | ${Math.round(CLICKS_PER_ROW / seconds)
        .toLocaleString('en-US')
        .padStart(8)} | ` +
        `${(CLICKS_PER_ROW / Math.max(1, written)).toFixed(1).padStart(14)} | ${((cpu.user + cpu.system) / CLICKS_PER_ROW).toFixed(1).padStart(7)} | ` +
        `${(((postgresCpuMs() - pg0) * 1000) / CLICKS_PER_ROW).toFixed(1).padStart(13)}`,
    );
  }
  await row(50, false); // warm-up: JIT and PostgreSQL's caches
  console.log('callers | clicks/s | clicks / batch | node µs | PostgreSQL µs');
  for (const callers of [10, 25, 50, 100, 200]) await row(callers, true);
} finally {
  await handle.close().catch(() => {});
  await postgres.stop();
  rmSync(dir, { recursive: true, force: true });
}
