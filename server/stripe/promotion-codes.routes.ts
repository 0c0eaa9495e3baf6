/**
 * Admin API: `/api/v1/promotion-codes` — affiliates' coupon codes mapped to Stripe promotion codes.
 * `GET /` (`?affiliateId=`), `POST /` `{ affiliateId, stripePromotionCodeId, code? }` → 201, `DELETE /:id` → 204.
 */
import Router from '@koa/router';
import type { AdminState } from '../http/admin-auth.ts';
import { pathId, readJson } from '../lib/validate.ts';
import type { StripeSettingsService } from './stripe-settings.service.ts';

export function promotionCodesRoutes(settings: StripeSettingsService): Router<AdminState> {
  const router = new Router<AdminState>({ prefix: '/api/v1/promotion-codes' });
  router.param('id', pathId('Promotion code'));
  router.get('/', async (ctx) => {
    ctx.body = { data: await settings.listPromotionCodes(ctx.state.program, ctx.query) };
  });
  router.post('/', async (ctx) => {
    ctx.status = 201;
    ctx.body = { promotionCode: await settings.addPromotionCode(ctx.state.program, await readJson(ctx)) };
  });
  router.delete('/:id', async (ctx) => {
    await settings.removePromotionCode(ctx.state.program, ctx.params.id!);
    ctx.status = 204;
  });
  return router;
}
