/**
 * The partner side, composed from its capabilities so `services.partner` is one object:
 * - `access/`: applications, set-password / reset links, login with rate limits and lockout, sessions;
 * - `portal/`: who is logged in, the overview and daily stats (`portal.service.ts`), and links, referrals,
 *   commissions and payouts (`activity.service.ts`);
 * - `payout-settings.service.ts`: the payout method.
 * Each route file takes only the part it calls. The input schemas are re-exported for the OpenAPI document.
 */
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { AffiliatesService } from '../affiliates/affiliates.service.ts';
import type { LinksService } from '../links/links.service.ts';
import type { Mailer } from '../mail/mailer.ts';
import type { MailOutbox } from '../mail/outbox.service.ts';
import { createAccessService } from './access/access.service.ts';
import { createActivityService } from './portal/activity.service.ts';
import { createPortalService } from './portal/portal.service.ts';
import { createPayoutSettingsService } from './payout-settings.service.ts';

export {
  applyInput,
  changePasswordInput,
  loginInput,
  resetRequestInput,
  setPasswordInput,
} from './access/access.service.ts';
export { statsInput } from './portal/portal.service.ts';
export { createLinkInput, listCommissionsInput, pageInput } from './portal/activity.service.ts';
export { payoutSettingsInput } from './payout-settings.service.ts';

/**
 * Every partner capability over one database: the methods of the access, portal, activity and payout-settings
 * services on one object (their names do not overlap).
 * @param deps.affiliates creates applicants (`apply`); `deps.links` creates the affiliate's links
 */
export function createPartnerService(deps: {
  db: Db;
  config: Config;
  mailer: Mailer;
  /** Carries the set-password link of an approval in the approval's outbox mail. */
  mailOutbox?: Pick<MailOutbox, 'attachSetPasswordLink'>;
  affiliates: Pick<AffiliatesService, 'createApplicant'>;
  links: Pick<LinksService, 'createForAffiliate'>;
  now?: () => Date;
}) {
  const access = createAccessService(deps);
  return {
    ...access,
    ...createPortalService(deps),
    ...createActivityService(deps),
    ...createPayoutSettingsService({ ...deps, confirmPassword: access.confirmAffiliatePassword }),
  };
}
export type PartnerService = ReturnType<typeof createPartnerService>;
