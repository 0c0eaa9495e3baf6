/**
 * The logged-in partner dashboard API under `/api/v1/partner/*` (session cookie + `X-CSRF-Token` on state changes,
 * `partnerAuthenticated` in `http/partner-session.ts`): `GET /me`, `GET /overview`, `GET /stats`, `GET|POST /links`,
 * `GET /referrals`, `GET /commissions`, `GET /commissions.csv`, `GET /commissions/:id`, `GET /payouts`,
 * `GET /payouts/:id`, `GET|PUT /payout-settings`. Login, logout and passwords: `access/access.routes.ts`.
 */
import Router from '@koa/router';
import { stringify } from 'csv-stringify/sync';
import { pathId, readJson } from '../../lib/validate.ts';
import { neutraliseFormula } from '../../lib/csv.ts';
import { partnerAuthenticated, sameOriginGuard, type PartnerState } from '../../http/partner-session.ts';
import type { AccessService, AuthenticatedPartner } from '../access/access.service.ts';
import type { PayoutSettingsService } from '../payout-settings.service.ts';
import type { ActivityService } from './activity.service.ts';
import type { PortalService } from './portal.service.ts';

/** What the portal routes call: the session look-up and the portal, activity and payout-settings services. */
export type PortalRoutesServices = Pick<AccessService, 'authenticate'> &
  PortalService &
  ActivityService &
  PayoutSettingsService;

export function portalRoutes(
  partner: PortalRoutesServices,
  opts: { publicUrl?: string },
): Router<PartnerState<AuthenticatedPartner>> {
  const router = new Router<PartnerState<AuthenticatedPartner>>({ prefix: '/api/v1/partner' });
  const authenticated = partnerAuthenticated(partner.authenticate, opts.publicUrl);
  router.use(sameOriginGuard(opts.publicUrl));
  // A commission or payout id that cannot be an id (`%00`, `%ff`…) is answered as an unknown one, before any query.
  const commissionId = pathId('Commission');
  const payoutId = pathId('Payout');
  router.param('id', (id, ctx, next) =>
    (ctx.path.startsWith('/api/v1/partner/payouts/') ? payoutId : commissionId)(id, ctx, next),
  );

  router.get('/me', authenticated, async (ctx) => {
    ctx.body = await partner.me(ctx.state.partner);
  });
  router.get('/overview', authenticated, async (ctx) => {
    ctx.body = await partner.overview(ctx.state.partner);
  });
  router.get('/stats', authenticated, async (ctx) => {
    ctx.body = await partner.stats(ctx.state.partner, ctx.query);
  });
  router.get('/links', authenticated, async (ctx) => {
    ctx.body = await partner.links(ctx.state.partner);
  });
  router.post('/links', authenticated, async (ctx) => {
    const link = await partner.createLink(ctx.state.partner, await readJson(ctx, '16kb'));
    ctx.status = 201;
    ctx.body = { link };
  });
  router.get('/referrals', authenticated, async (ctx) => {
    ctx.body = await partner.referrals(ctx.state.partner, ctx.query);
  });
  router.get('/commissions', authenticated, async (ctx) => {
    ctx.body = await partner.commissions(ctx.state.partner, ctx.query);
  });
  router.get('/commissions.csv', authenticated, async (ctx) => {
    const [header, ...rows] = await partner.commissionsCsvRows(ctx.state.partner);
    const safe = rows.map((r) => r.map(neutraliseFormula));
    ctx.attachment(`commissions-${new Date().toISOString().slice(0, 10)}.csv`);
    ctx.type = 'text/csv; charset=utf-8';
    ctx.body = stringify([header!, ...safe]);
  });
  router.get('/commissions/:id', authenticated, async (ctx) => {
    ctx.body = await partner.commission(ctx.state.partner, ctx.params.id!);
  });
  router.get('/payouts', authenticated, async (ctx) => {
    ctx.body = await partner.payouts(ctx.state.partner, ctx.query);
  });
  router.get('/payouts/:id', authenticated, async (ctx) => {
    ctx.body = await partner.payout(ctx.state.partner, ctx.params.id!);
  });
  router.get('/payout-settings', authenticated, async (ctx) => {
    ctx.body = await partner.payoutSettings(ctx.state.partner);
  });
  router.put('/payout-settings', authenticated, async (ctx) => {
    ctx.body = await partner.updatePayoutSettings(ctx.state.partner, await readJson(ctx, '16kb'));
  });
  return router;
}
