/**
 * `transfer.reversed`: the money of a Stripe Connect payout came back to the platform (the merchant, or Stripe,
 * reversed the transfer). A fully reversed transfer (`reversed: true`) fails its payout with the reason, and the
 * payout's commissions return to the balance (`payouts/payout-failure.ts`), so the next payout (pay-all, a new
 * payout id, so a new transfer) pays them once more, exactly once. A partial reversal (`reversed: false`,
 * `amount_reversed` below `amount`) changes nothing here: which commissions it took back is the merchant's call,
 * and it is recorded as ignored (`partial_reversal`) on the inbox row for them to see.
 *
 * The payout is found by its transfer id; a payout still `processing` (its transfer's outcome was unknown when it
 * was made) by the transfer's `metadata.partnerkit_payout_id`.
 * Sources: https://docs.stripe.com/api/events/types#event_types-transfer.reversed,
 * https://docs.stripe.com/api/transfers/object, https://docs.stripe.com/connect/separate-charges-and-transfers#reverse-transfers
 */
import { z } from 'zod';
import { toDecimalString } from '../../commissions/money.ts';
import { failLockedPayout } from '../../payouts/payout-failure.ts';
import { lockPayout, lockPayoutByTransfer } from '../../payouts/payouts.repository.ts';
import { currencyCode, minorUnits, stripeMetadata } from '../stripe-objects.ts';
import { ignored, malformed, type StripeEventHandler } from './handler.ts';

const transfer = z.looseObject({
  id: z.string().min(1).max(255),
  object: z.literal('transfer').optional(),
  amount: minorUnits,
  amount_reversed: minorUnits.default(0),
  currency: currencyCode,
  reversed: z.boolean().default(false),
  metadata: stripeMetadata,
});

export const handleTransferReversed: StripeEventHandler = async (ctx, event) => {
  const parsed = transfer.safeParse(event.data.object);
  if (!parsed.success) return malformed('transfer', parsed.error.issues);
  const t = parsed.data;
  let payout = await lockPayoutByTransfer(ctx.trx, ctx.program.id, t.id);
  const payoutId = t.metadata.partnerkit_payout_id;
  if (!payout && payoutId) {
    const open = await lockPayout(ctx.trx, ctx.program.id, payoutId);
    if (open?.method === 'stripe_connect' && !open.stripe_transfer_id) payout = open;
  }
  if (!payout) return ignored('payout_not_found');
  if (payout.status === 'failed') return ignored('payout_already_failed');
  if (!t.reversed) return ignored('partial_reversal');
  const reason =
    `transfer_reversed: Stripe transfer ${t.id} was reversed (${toDecimalString(t.amount_reversed, t.currency)} ` +
    `${t.currency.toUpperCase()}); the commissions are back in the balance`;
  await failLockedPayout(ctx.trx, payout, reason.slice(0, 500), 'system', ctx.now);
  return { status: 'processed' };
};
