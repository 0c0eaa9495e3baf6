/** Admin API: `/api/v1/conversions`. */
import Router from '@koa/router';
import type { AdminState } from '../http/admin-auth.ts';
import type { ConversionsService } from './conversions.service.ts';

export function conversionsRoutes(conversions: ConversionsService): Router<AdminState> {
  const router = new Router<AdminState>({ prefix: '/api/v1/conversions' });
  router.get('/', async (ctx) => {
    ctx.body = { data: await conversions.list(ctx.state.program, ctx.query) };
  });
  return router;
}
