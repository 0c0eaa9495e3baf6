/** Admin API: `/api/v1/commission-rules` (list, create, get, PATCH, DELETE = archive; POST /preview writes nothing). */
import Router from '@koa/router';
import { pathId, readJson } from '../lib/validate.ts';
import type { AdminState } from '../http/admin-auth.ts';
import type { CommissionRulesService } from './commission-rules.service.ts';

export function commissionRulesRoutes(rules: CommissionRulesService): Router<AdminState> {
  const router = new Router<AdminState>({ prefix: '/api/v1/commission-rules' });
  router.param('id', pathId('Commission rule'));
  router.get('/', async (ctx) => {
    ctx.body = { data: await rules.list(ctx.state.program, ctx.query) };
  });
  router.post('/', async (ctx) => {
    const rule = await rules.create(ctx.state.program, await readJson(ctx));
    ctx.status = 201;
    ctx.body = { rule };
  });
  router.post('/preview', async (ctx) => {
    ctx.body = await rules.preview(ctx.state.program, await readJson(ctx));
  });
  router.get('/:id', async (ctx) => {
    ctx.body = { rule: await rules.get(ctx.state.program, ctx.params.id!) };
  });
  router.patch('/:id', async (ctx) => {
    ctx.body = { rule: await rules.update(ctx.state.program, ctx.params.id!, await readJson(ctx)) };
  });
  router.delete('/:id', async (ctx) => {
    ctx.body = { rule: await rules.archive(ctx.state.program, ctx.params.id!) };
  });
  return router;
}
