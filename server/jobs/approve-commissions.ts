/**
 * Job `approve-commissions`: moves `pending` commissions whose hold period has ended to `approved`.
 * Idempotent (one UPDATE over `status = 'pending' AND payable_at <= now`), so overlapping runs are harmless.
 */
import type { Agenda } from 'agenda';
import type { CommissionsService } from '../commissions/commissions.service.ts';
import { inJobContext, type Logger } from '../lib/logger.ts';

export const APPROVE_COMMISSIONS = 'approve-commissions';
/** How often the scheduled run happens. */
export const APPROVE_COMMISSIONS_EVERY = '15 minutes';

export function defineApproveCommissions(agenda: Agenda, commissions: CommissionsService, logger: Logger): void {
  agenda.define(
    APPROVE_COMMISSIONS,
    inJobContext(APPROVE_COMMISSIONS, async () => {
      const approved = await commissions.approveDue();
      if (approved > 0) logger.info(`approve-commissions: ${approved} commission(s) approved`);
    }),
  );
}
