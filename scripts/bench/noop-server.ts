/**
 * The ceiling of this machine for the click benchmark: a Koa app (same version, same HTTP stack) whose
 * only route reads the body and answers a small JSON, with no database. Run as its own process.
 */
import http from 'node:http';
import Koa from 'koa';
import getRawBody from 'raw-body';

const port = Number(process.argv[2] ?? 0);
const koa = new Koa();
koa.use(async (ctx) => {
  await getRawBody(ctx.req, { limit: '16kb' });
  ctx.body = { ok: true };
});
const server = http.createServer(koa.callback());
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as { port: number }).port });
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
