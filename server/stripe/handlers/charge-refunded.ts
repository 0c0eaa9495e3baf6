/**
 * `charge.refunded`: take the commission back pro rata. `amount_refunded` is cumulative (a second partial
 * refund reports the total so far), so the conversion keeps the refunded share of its own amount,
 * `prorate(conversion.amount, amount_refunded, charge.amount)`, only ever growing (a late, older event changes
 * nothing), and `commission-adjustments.ts` moves the commission to match: reduced or `reversed` before
 * payment, a negative clawback after. The ratio is taken on the charge itself, so tax and presentment currency
 * cancel out.
 * A refund whose sale we have not recorded yet (Stripe does not guarantee order) is deferred and retried,
 * and runs as soon as the sale arrives.
 * Source: https://docs.stripe.com/api/events/types#event_types-charge.refunded
 */
import { prorate } from '../../commissions/money.ts';
import { reconcileCommission } from '../../commissions/commission-adjustments.ts';
import { fillMissingKeys, updateConversion } from '../../conversions/conversions.repository.ts';
import { findSaleForCharge, waitKeys } from '../sale-lookup.ts';
import { charge } from '../stripe-objects.ts';
import { awaitSale, ignored, malformed, type StripeEventHandler } from './handler.ts';

export const handleChargeRefunded: StripeEventHandler = async (ctx, event) => {
  const parsed = charge.safeParse(event.data.object);
  if (!parsed.success) return malformed('charge', parsed.error.issues);
  const ch = parsed.data;
  if (ch.amount === 0) return ignored('zero_amount');

  const conversion = await findSaleForCharge(ctx, {
    chargeId: ch.id,
    paymentIntentId: ch.payment_intent,
    invoiceId: ch.invoice,
  });
  if (!conversion) return awaitSale(ctx, waitKeys(ch.id, ch.payment_intent, ch.invoice));

  await fillMissingKeys(ctx.trx, conversion, { chargeId: ch.id, paymentIntentId: ch.payment_intent });
  const refunded = prorate(conversion.amount, Math.min(ch.amount_refunded, ch.amount), ch.amount);
  if (refunded <= conversion.refunded_amount) return ignored('refund_already_applied');
  const updated = await updateConversion(ctx.trx, conversion.id, { refunded_amount: refunded });
  await reconcileCommission(ctx.trx, updated, {
    at: ctx.now,
    reason: refunded >= updated.amount ? 'refunded' : 'partially_refunded',
  });
  return { status: 'processed' };
};
