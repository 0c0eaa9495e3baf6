/**
 * Payout routes.
 * - Admin (API key): `/api/v1/payouts` list / create by hand, `/export` (PayPal or Wise CSV), `/:id`,
 *   `/:id/process|complete|fail`; `/api/v1/balances`.
 * - Partner (session cookie + CSRF header, `partnerAuthenticated` from `http/partner-session.ts`):
 *   `POST /api/v1/partner/payouts/request`.
 */
import Router from '@koa/router';
import { pathId, readJson } from '../lib/validate.ts';
import type { AdminState } from '../http/admin-auth.ts';
import { partnerAuthenticated, type PartnerState, type SessionLookup } from '../http/partner-session.ts';
import type { PayoutsService } from './payouts.service.ts';

export function payoutsRoutes(payouts: PayoutsService): Router<AdminState> {
  const router = new Router<AdminState>({ prefix: '/api/v1/payouts' });
  router.param('id', pathId('Payout'));
  router.get('/', async (ctx) => {
    ctx.body = { data: await payouts.list(ctx.state.program, ctx.query) };
  });
  router.post('/', async (ctx) => {
    const payout = await payouts.create(ctx.state.program, await readJson(ctx));
    ctx.status = 201;
    ctx.body = { payout };
  });
  router.get('/export', async (ctx) => {
    const file = await payouts.exportCsv(ctx.state.program, ctx.query);
    ctx.type = 'text/csv; charset=utf-8';
    ctx.set('Content-Disposition', `attachment; filename="${file.filename}"`);
    ctx.set('X-Payout-Count', String(file.count));
    ctx.body = file.csv;
  });
  router.get('/:id', async (ctx) => {
    ctx.body = { payout: await payouts.get(ctx.state.program, ctx.params.id!) };
  });
  router.post('/:id/process', async (ctx) => {
    ctx.body = { payout: await payouts.process(ctx.state.program, ctx.params.id!) };
  });
  router.post('/:id/complete', async (ctx) => {
    ctx.body = { payout: await payouts.complete(ctx.state.program, ctx.params.id!, await readJson(ctx)) };
  });
  router.post('/:id/fail', async (ctx) => {
    ctx.body = { payout: await payouts.fail(ctx.state.program, ctx.params.id!, await readJson(ctx)) };
  });
  return router;
}

/** Admin: `GET /api/v1/balances?affiliateId=&currency=`. */
export function balancesRoutes(payouts: PayoutsService): Router<AdminState> {
  const router = new Router<AdminState>({ prefix: '/api/v1/balances' });
  router.get('/', async (ctx) => {
    ctx.body = { data: await payouts.balances(ctx.state.program, ctx.query) };
  });
  return router;
}

/** The logged-in affiliate a payout request needs from its session. */
interface PartnerSession {
  affiliateId: string;
  csrfToken: string;
}

/**
 * Partner: `POST /api/v1/partner/payouts/request` `{ currency? }` → 201 `{ payouts: [...] }`.
 * @param authenticate the partner session look-up (`services.partner.authenticate`)
 */
export function partnerPayoutRoutes(
  payouts: PayoutsService,
  authenticate: SessionLookup<PartnerSession>,
  opts: { publicUrl?: string } = {},
): Router<PartnerState<PartnerSession>> {
  const router = new Router<PartnerState<PartnerSession>>({ prefix: '/api/v1/partner/payouts' });
  router.post('/request', partnerAuthenticated(authenticate, opts.publicUrl), async (ctx) => {
    const created = await payouts.requestByAffiliate(ctx.state.partner.affiliateId, await readJson(ctx));
    ctx.status = 201;
    ctx.body = { payouts: created };
  });
  return router;
}
