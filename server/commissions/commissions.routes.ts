/**
 * Admin API: `/api/v1/commissions` (+ `/export` CSV, `/bulk` approve / reject, `/:id` with its history, rule,
 * conversion and Stripe links, `/:id/approve|reject`).
 */
import Router from '@koa/router';
import { sendCsvDownload } from '../http/csv-download.ts';
import { pathId, readJson } from '../lib/validate.ts';
import type { AdminState } from '../http/admin-auth.ts';
import type { CommissionsService } from './commissions.service.ts';
import type { CommissionDetailsService } from './commission-detail.ts';

export function commissionsRoutes(
  commissions: CommissionsService,
  details: CommissionDetailsService,
): Router<AdminState> {
  const router = new Router<AdminState>({ prefix: '/api/v1/commissions' });
  router.param('id', pathId('Commission'));
  router.get('/', async (ctx) => {
    ctx.body = { data: await commissions.list(ctx.state.program, ctx.query) };
  });
  router.get('/export', async (ctx) => {
    const file = commissions.exportCsv(ctx.state.program, ctx.query);
    sendCsvDownload(ctx, file.filename, file.records);
  });
  router.post('/bulk', async (ctx) => {
    const results = await commissions.decideMany(ctx.state.program, await readJson(ctx));
    ctx.body = { results };
  });
  router.get('/:id', async (ctx) => {
    ctx.body = { commission: await details.get(ctx.state.program, ctx.params.id!) };
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
