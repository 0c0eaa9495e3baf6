/** Admin API: `/api/v1/links`. */
import Router from '@koa/router';
import { readJson } from '../lib/validate.ts';
import type { AdminState } from '../http/admin-auth.ts';
import type { LinksService } from './links.service.ts';

export function linksRoutes(links: LinksService): Router<AdminState> {
  const router = new Router<AdminState>({ prefix: '/api/v1/links' });
  router.get('/', async (ctx) => {
    ctx.body = { data: await links.list(ctx.state.program, ctx.query) };
  });
  router.post('/', async (ctx) => {
    ctx.status = 201;
    ctx.body = { link: await links.create(ctx.state.program, await readJson(ctx)) };
  });
  return router;
}
