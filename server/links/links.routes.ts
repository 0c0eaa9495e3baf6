/** Admin API: `/api/v1/links` (list, create; `/:id` PATCH changes, DELETE retires). */
import Router from '@koa/router';
import { pathId, readJson } from '../lib/validate.ts';
import type { AdminState } from '../http/admin-auth.ts';
import type { LinksService } from './links.service.ts';

export function linksRoutes(links: LinksService): Router<AdminState> {
  const router = new Router<AdminState>({ prefix: '/api/v1/links' });
  router.param('id', pathId('Link'));
  router.get('/', async (ctx) => {
    ctx.body = { data: await links.list(ctx.state.program, ctx.query) };
  });
  router.post('/', async (ctx) => {
    ctx.status = 201;
    ctx.body = { link: await links.create(ctx.state.program, await readJson(ctx)) };
  });
  router.patch('/:id', async (ctx) => {
    ctx.body = { link: await links.update(ctx.state.program, ctx.params.id!, await readJson(ctx)) };
  });
  router.delete('/:id', async (ctx) => {
    ctx.body = { link: await links.archive(ctx.state.program, ctx.params.id!) };
  });
  return router;
}
