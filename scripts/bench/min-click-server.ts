/**
 * Calibration for the click benchmark: the least a durable click route can do on this machine. A Koa app (same
 * version, same HTTP stack as the no-op ceiling) whose only route reads the body, `JSON.parse`s it and queues one
 * row (code, IP); one flusher writes everything queued in one `INSERT … SELECT FROM json_to_recordset` and answers
 * each request after its batch commits — group commit as in `server/tracking/click-ingest.ts`, but no validation,
 * caches, rate limit, referral, rollup or CORS. Run as its own process: `min-click-server.ts <postgres url>`; it
 * creates its own table `bench_min_clicks` in that (throwaway) database and reports `{ port }` over IPC.
 */
import http from 'node:http';
import Koa from 'koa';
import getRawBody from 'raw-body';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.argv[2], max: 1 });
await pool.query(
  'CREATE TABLE IF NOT EXISTS bench_min_clicks (id bigserial PRIMARY KEY, code text, ip inet, created_at timestamptz NOT NULL DEFAULT now())',
);

let queue: Array<{ row: { code: unknown; ip: string | null }; done: (err?: unknown) => void }> = [];
let flushing = false;
async function flusher(): Promise<void> {
  flushing = true;
  await new Promise((r) => setImmediate(r));
  while (queue.length) {
    const batch = queue;
    queue = [];
    try {
      await pool.query({
        name: 'bench_min_clicks',
        text: 'INSERT INTO bench_min_clicks (code, ip) SELECT code, ip FROM json_to_recordset($1::json) AS v(code text, ip inet)',
        values: [JSON.stringify(batch.map((b) => b.row))],
      });
      for (const b of batch) b.done();
    } catch (err) {
      for (const b of batch) b.done(err);
    }
  }
  flushing = false;
}

const koa = new Koa();
koa.use(async (ctx) => {
  const body = JSON.parse(String(await getRawBody(ctx.req, { limit: '16kb' })));
  await new Promise<void>((resolve, reject) => {
    queue.push({
      row: { code: body.code, ip: ctx.get('x-forwarded-for') || null },
      done: (err) => (err ? reject(err) : resolve()),
    });
    if (!flushing) void flusher();
  });
  ctx.body = { ok: true };
});
const server = http.createServer(koa.callback());
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as { port: number }).port });
});
process.on('SIGTERM', () => server.close(() => void pool.end().then(() => process.exit(0))));
