/**
 * Partner (session cookie + `X-CSRF-Token`): `POST /api/v1/partner/stripe-connect/onboard` `{ country, password }`
 * → 200 `{ accountId, status, url, expiresAt }`: send the partner to `url` (`connect-onboarding.ts`);
 * `GET /api/v1/partner/stripe-connect` → `{ status: none|ready|needs_information|restricted, available, accountId,
 * country, requirementsDue }`.
 */
import Router from '@koa/router';
import { readJson } from '../lib/validate.ts';
import {
  partnerAuthenticated,
  sameOriginGuard,
  type PartnerState,
  type SessionLookup,
} from '../http/partner-session.ts';
import type { AuthenticatedPartner } from '../partner/access/access.service.ts';
import type { ConnectOnboardingService } from './connect-onboarding.ts';

export function connectOnboardingRoutes(
  onboarding: ConnectOnboardingService,
  authenticate: SessionLookup<AuthenticatedPartner>,
  opts: { publicUrl?: string } = {},
): Router<PartnerState<AuthenticatedPartner>> {
  const router = new Router<PartnerState<AuthenticatedPartner>>({ prefix: '/api/v1/partner/stripe-connect' });
  router.use(sameOriginGuard(opts.publicUrl));
  router.get('/', partnerAuthenticated(authenticate, opts.publicUrl), async (ctx) => {
    ctx.body = await onboarding.status(ctx.state.partner);
  });
  router.post('/onboard', partnerAuthenticated(authenticate, opts.publicUrl), async (ctx) => {
    ctx.body = await onboarding.onboard(ctx.state.partner, await readJson(ctx, '16kb'));
  });
  return router;
}
