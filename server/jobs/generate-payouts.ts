/**
 * Job `generate-payouts`: every `GENERATE_PAYOUTS_EVERY`, each program whose payout schedule (cron, UTC; default
 * monthly on the 1st) has a new occurrence gets one payout per affiliate and currency whose balance reaches the
 * minimum payout (`payouts.service.ts` `generateDue`). Idempotent per occurrence and safe when several workers run
 * it at once (affiliate row locks + a unique key per occurrence), so overlapping runs create nothing twice.
 *
 * Job data (optional): `{ programId?: string, force?: boolean }`: `force` pays out now, off schedule.
 */
import type { Agenda, Job } from 'agenda';
import type { PayoutsService } from '../payouts/payouts.service.ts';
import { inJobContext, type Logger } from '../lib/logger.ts';

export const GENERATE_PAYOUTS = 'generate-payouts';
/** How often programs' schedules are checked: a payout is created at most this long after its occurrence. */
export const GENERATE_PAYOUTS_EVERY = '15 minutes';

export interface GeneratePayoutsData {
  programId?: string;
  force?: boolean;
}

export function defineGeneratePayouts(agenda: Agenda, payouts: PayoutsService, logger: Logger): void {
  agenda.define<GeneratePayoutsData>(
    GENERATE_PAYOUTS,
    inJobContext(GENERATE_PAYOUTS, async (job: Job<GeneratePayoutsData>) => {
      const data = job.attrs.data ?? {};
      const { payouts: made, batches } = await payouts.generateDue({
        programId: typeof data.programId === 'string' ? data.programId : undefined,
        force: data.force === true,
      });
      if (made > 0) logger.info(`generate-payouts: ${made} payout(s) created (batches ${batches.join(', ')})`);
    }),
  );
}
