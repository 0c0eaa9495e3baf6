/** Admin API: `/api/v1/commissions` (+ `/:id` with its history, `/:id/approve|reject`). */
import Router from '@koa/router';
import { pathId, readJson } from '../lib/validate.ts';
import type { AdminState } from '../http/admin-auth.ts';
import type { CommissionsService } from './commissions.service.ts';

export function commissionsRoutes(commissions: CommissionsService): Router<AdminState> {
  const router = new Router<AdminState>({ prefix: '/api/v1/commissions' });
  router.param('id', pathId('Commission'));
  router.get('/', async (ctx) => {
    ctx.body = { data: await commissions.list(ctx.state.program, ctx.query) };
  });
  router.get('/:id', async (ctx) => {
    ctx.body = { commission: await commissions.get(ctx.state.program, ctx.params.id!) };
  });
  router.post('/:id/approve', async (ctx) => {
    const body = await readJson(ctx);
    ctx.body = { commission: await commissions.decide(ctx.state.program, ctx.params.id!, 'approve', body) };
  });
  router.post('/:id/reject', async (ctx) => {
    const body = await readJson(ctx);
    ctx.body = { commission: await commissions.decide(ctx.state.program, ctx.params.id!, 'reject', body) };
  });
  return router;
}
