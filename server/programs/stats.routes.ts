/** Admin API: `GET /api/v1/stats[?days=N]` and `GET /api/v1/stats/daily[?days=N]` (per-day series, top affiliates). */
import Router from '@koa/router';
import type { AdminState } from '../http/admin-auth.ts';
import type { StatsService } from './stats.service.ts';

export function statsRoutes(stats: StatsService): Router<AdminState> {
  const router = new Router<AdminState>({ prefix: '/api/v1/stats' });
  router.get('/', async (ctx) => {
    ctx.body = await stats.stats(ctx.state.program, ctx.query);
  });
  router.get('/daily', async (ctx) => {
    ctx.body = await stats.daily(ctx.state.program, ctx.query);
  });
  return router;
}
