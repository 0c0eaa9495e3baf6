/** Admin API: `/api/v1/affiliates` (+ `/:id`, `/:id/approve|reject|suspend`). */
import Router from '@koa/router';
import { readJson } from '../http/input.ts';
import type { AdminState } from '../http/admin-auth.ts';
import type { PartnerService } from '../partner/partner.service.ts';
import type { AffiliatesService } from './affiliates.service.ts';

export function affiliatesRoutes(affiliates: AffiliatesService, partner: PartnerService): Router<AdminState> {
  const router = new Router<AdminState>({ prefix: '/api/v1/affiliates' });

  /** An approved affiliate without a password gets a one-time link to set one. */
  async function withSetPasswordLink<T extends { id: string; status: string; hasPassword: boolean }>(a: T) {
    if (a.status !== 'approved' || a.hasPassword) return { affiliate: a };
    return { affiliate: a, setPasswordUrl: await partner.issueSetPasswordLink(a) };
  }

  router.get('/', async (ctx) => {
    ctx.body = { data: await affiliates.list(ctx.state.program, ctx.query) };
  });
  router.post('/', async (ctx) => {
    const created = await affiliates.create(ctx.state.program, await readJson(ctx));
    ctx.status = 201;
    ctx.body = await withSetPasswordLink(created);
  });
  router.get('/:id', async (ctx) => {
    ctx.body = { affiliate: await affiliates.get(ctx.state.program, ctx.params.id!) };
  });
  router.post('/:id/approve', async (ctx) => {
    ctx.body = await withSetPasswordLink(await affiliates.transition(ctx.state.program, ctx.params.id!, 'approve'));
  });
  router.post('/:id/reject', async (ctx) => {
    ctx.body = { affiliate: await affiliates.transition(ctx.state.program, ctx.params.id!, 'reject') };
  });
  router.post('/:id/suspend', async (ctx) => {
    ctx.body = { affiliate: await affiliates.transition(ctx.state.program, ctx.params.id!, 'suspend') };
  });
  return router;
}
