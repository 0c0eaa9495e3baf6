/**
 * Tax details (`tax-info.service.ts`).
 * - Partner (session cookie + `X-CSRF-Token` on the change): `GET /api/v1/partner/tax-info`,
 *   `PUT /api/v1/partner/tax-info` `{ legalName, country, taxId, password }`.
 * - Admin (API key): `GET /api/v1/affiliates/:id/tax-info`.
 * The tax id is always answered masked (`•••• 6789`).
 */
import Router from '@koa/router';
import { pathId, readJson } from '../lib/validate.ts';
import type { AdminState } from '../http/admin-auth.ts';
import {
  partnerAuthenticated,
  sameOriginGuard,
  type PartnerState,
  type SessionLookup,
} from '../http/partner-session.ts';
import type { AuthenticatedPartner } from './access/access.service.ts';
import type { TaxInfoService } from './tax-info.service.ts';

export function partnerTaxInfoRoutes(
  taxInfo: TaxInfoService,
  authenticate: SessionLookup<AuthenticatedPartner>,
  opts: { publicUrl?: string } = {},
): Router<PartnerState<AuthenticatedPartner>> {
  const router = new Router<PartnerState<AuthenticatedPartner>>({ prefix: '/api/v1/partner/tax-info' });
  const authenticated = partnerAuthenticated(authenticate, opts.publicUrl);
  router.use(sameOriginGuard(opts.publicUrl));
  router.get('/', authenticated, async (ctx) => {
    ctx.body = await taxInfo.taxInfo(ctx.state.partner);
  });
  router.put('/', authenticated, async (ctx) => {
    ctx.body = await taxInfo.updateTaxInfo(ctx.state.partner, await readJson(ctx, '16kb'));
  });
  return router;
}

export function affiliateTaxInfoRoutes(taxInfo: TaxInfoService): Router<AdminState> {
  const router = new Router<AdminState>({ prefix: '/api/v1/affiliates' });
  router.param('id', pathId('Affiliate', 'affiliate_not_found'));
  router.get('/:id/tax-info', async (ctx) => {
    ctx.body = { taxInfo: await taxInfo.affiliateTaxInfo(ctx.state.program.id, ctx.params.id!) };
  });
  return router;
}
