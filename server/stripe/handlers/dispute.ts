/**
 * Shared by `charge.dispute.created` and `charge.dispute.closed`: record the dispute on the sale's conversion
 * and let `commission-adjustments.ts` hold, reverse or reinstate the commission.
 *
 * - created → `open`: the commission is put on hold (after payment: the disputed part is held as a clawback);
 * - closed with status `lost` → `lost`: the disputed share is taken back for good;
 * - closed otherwise (`won`, `warning_closed` — an inquiry that never became a chargeback, `prevented`) → `won`:
 *   the commission is reinstated. A closed event's `status` is all that counts (the `charge_dispute_closed`
 *   fixture even says `warning_needs_response`: treated as not lost).
 * - The disputed share is `dispute.amount` of what the customer paid (`gross_amount`), in the conversion's
 *   own units; unknown gross = the whole sale.
 * - Stale events never overwrite newer state: an event older than the last one applied is ignored, and a
 *   `created` after a `closed` changes nothing. A later `closed` wins (lost then won → reinstated).
 * Source: https://docs.stripe.com/disputes/how-disputes-work, https://docs.stripe.com/api/disputes/object#dispute_object-status
 */
import { prorate } from '../../commissions/money.ts';
import { reconcileCommission } from '../../commissions/commission-adjustments.ts';
import { updateConversion } from '../../conversions/conversions.repository.ts';
import { findSaleForCharge, waitKeys } from '../sale-lookup.ts';
import { dispute, type StripeEventEnvelope } from '../stripe-objects.ts';
import { awaitSale, ignored, malformed, type HandlerContext, type HandlerOutcome } from './handler.ts';

export async function applyDispute(
  ctx: HandlerContext,
  event: StripeEventEnvelope,
  phase: 'created' | 'closed',
): Promise<HandlerOutcome> {
  const parsed = dispute.safeParse(event.data.object);
  if (!parsed.success) return malformed('dispute', parsed.error.issues);
  const d = parsed.data;

  const conversion = await findSaleForCharge(ctx, { chargeId: d.charge, paymentIntentId: d.payment_intent ?? null });
  if (!conversion) return awaitSale(ctx, waitKeys(d.charge, d.payment_intent));

  const eventAt = new Date(event.created * 1000);
  if (conversion.dispute_updated_at && eventAt < conversion.dispute_updated_at) return ignored('stale_dispute_event');
  const closed = conversion.dispute_status === 'won' || conversion.dispute_status === 'lost';
  if (phase === 'created' && closed && conversion.stripe_dispute_id === d.id) return ignored('dispute_already_closed');

  const status = phase === 'created' ? 'open' : d.status === 'lost' ? 'lost' : 'won';
  const gross = conversion.gross_amount;
  const disputed =
    gross && gross > 0 ? prorate(conversion.amount, Math.min(d.amount, gross), gross) : conversion.amount;
  if (
    conversion.stripe_dispute_id === d.id &&
    conversion.dispute_status === status &&
    conversion.disputed_amount === disputed
  ) {
    return ignored('dispute_already_applied');
  }
  const updated = await updateConversion(ctx.trx, conversion.id, {
    stripe_dispute_id: d.id,
    dispute_status: status,
    disputed_amount: disputed,
    dispute_updated_at: eventAt,
  });
  await reconcileCommission(ctx.trx, updated, {
    at: ctx.now,
    reason: status === 'open' ? 'dispute_opened' : `dispute_${status}`,
  });
  return { status: 'processed' };
}
