/**
 * The logged-in partner's e-mail preferences (`/api/v1/partner/email-preferences`, session cookie; `PUT` also
 * needs `X-CSRF-Token`): which kinds of outbox e-mail they receive (`mail/mail-kinds.ts`). Set-password and reset
 * mails are transactional and not listed.
 */
import Router from '@koa/router';
import { partnerAuthenticated, type PartnerState } from '../http/partner-session.ts';
import { readJson } from '../lib/validate.ts';
import type { MailOutbox } from '../mail/outbox.service.ts';
import type { AccessService, AuthenticatedPartner } from './access/access.service.ts';

export function emailPreferencesRoutes(
  authenticate: AccessService['authenticate'],
  outbox: Pick<MailOutbox, 'affiliatePreferences' | 'setAffiliatePreferences'>,
  opts: { publicUrl?: string },
): Router<PartnerState<AuthenticatedPartner>> {
  const router = new Router<PartnerState<AuthenticatedPartner>>({ prefix: '/api/v1/partner/email-preferences' });
  const authenticated = partnerAuthenticated(authenticate, opts.publicUrl);
  router.get('/', authenticated, async (ctx) => {
    ctx.body = { preferences: await outbox.affiliatePreferences(ctx.state.partner.affiliateId) };
  });
  router.put('/', authenticated, async (ctx) => {
    ctx.body = {
      preferences: await outbox.setAffiliatePreferences(ctx.state.partner.affiliateId, await readJson(ctx, '4kb')),
    };
  });
  return router;
}
