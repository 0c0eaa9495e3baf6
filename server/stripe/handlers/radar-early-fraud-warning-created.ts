/**
 * `radar.early_fraud_warning.created`: the card issuer reported the charge as likely fraud (a dispute often
 * follows). The sale's commission is put `on_hold` with `hold_reason: early_fraud_warning` (history reason
 * `early_fraud_warning:<fraud_type>`), so it is neither approved by the hold-period job nor paid out until the
 * merchant decides (approve or reject it through the admin API) — as the fraud checks hold a commission.
 *
 * - A commission already held for a dispute takes this reason instead: the dispute's end then no longer releases
 *   it by itself. One held by another fraud check keeps its reason.
 * - A commission that is paid or in a payout cannot be held (a later dispute or refund claws it back); nor a
 *   rejected or reversed one: those are recorded as ignored with the reason.
 * - A warning whose sale is not recorded yet is deferred until it is (waiting for the charge and, read with the key
 *   when the warning does not say, its payment intent: a Checkout sale is known by that).
 * Source: https://docs.stripe.com/api/radar/early_fraud_warnings/object, https://docs.stripe.com/disputes/prevention/early-fraud-warnings
 */
import { z } from 'zod';
import { transitionCommission } from '../../commissions/commissions.repository.ts';
import { findSaleForCharge, waitKeys } from '../sale-lookup.ts';
import { stripeRef } from '../stripe-objects.ts';
import { awaitSale, ignored, malformed, type StripeEventHandler } from './handler.ts';

/** The `hold_reason` of a commission held for an early fraud warning. */
export const EARLY_FRAUD_WARNING_HOLD = 'early_fraud_warning';

const earlyFraudWarning = z.looseObject({
  id: z.string().min(1).max(255),
  object: z.literal('radar.early_fraud_warning'),
  charge: stripeRef,
  payment_intent: stripeRef.optional(),
  fraud_type: z
    .string()
    .regex(/^[a-z_]{1,64}$/)
    .nullish()
    .catch(null),
  actionable: z.boolean().nullish(),
});

export const handleRadarEarlyFraudWarningCreated: StripeEventHandler = async (ctx, event) => {
  const parsed = earlyFraudWarning.safeParse(event.data.object);
  if (!parsed.success) return malformed('early_fraud_warning', parsed.error.issues);
  const w = parsed.data;
  if (!w.charge && !w.payment_intent) return ignored('no_charge');

  const conversion = await findSaleForCharge(ctx, { chargeId: w.charge, paymentIntentId: w.payment_intent ?? null });
  if (!conversion) {
    // Current warnings name only the charge; a Checkout sale is known by its payment intent: wait for that too.
    const pi =
      w.payment_intent ??
      (w.charge && ctx.stripe ? ((await ctx.stripe.charge(w.charge))?.payment_intent ?? null) : null);
    return awaitSale(ctx, waitKeys(w.charge, pi), { giveUp: 'ignored' });
  }

  const commission = await ctx.trx
    .selectFrom('commissions')
    .selectAll()
    .where('conversion_id', '=', conversion.id)
    .where('amount', '>=', 0)
    .where('kind', '!=', 'clawback')
    .forUpdate()
    .executeTakeFirst();
  if (!commission) return ignored('no_commission');
  if (commission.status === 'paid' || commission.payout_id !== null) return ignored('commission_paid');
  if (commission.status === 'rejected' || commission.status === 'reversed')
    return ignored(`commission_${commission.status}`);
  if (commission.status === 'on_hold' && commission.hold_reason !== 'dispute')
    return ignored(
      commission.hold_reason === EARLY_FRAUD_WARNING_HOLD ? 'already_on_hold' : 'on_hold_for_other_reason',
    );

  const reason = `${EARLY_FRAUD_WARNING_HOLD}:${w.fraud_type ?? 'unknown'}`;
  await transitionCommission(ctx.trx, commission, 'on_hold', {
    at: ctx.now,
    actor: 'stripe',
    reason,
    patch: { hold_reason: EARLY_FRAUD_WARNING_HOLD },
  });
  return { status: 'processed' };
};
