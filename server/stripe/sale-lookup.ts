/**
 * The sale conversion a charge belongs to, for refunds and disputes: by the charge id, its payment intent or
 * (payloads before 2025-03-31) its invoice. Since 2025-03-31 a charge no longer names its invoice and an invoice
 * no longer names its payment, so a subscription payment recorded from `invoice.paid` may be known only by its
 * invoice id until its `invoice_payment.paid` event links it to its payment intent (`handlers/invoice-payment-paid.ts`,
 * which wakes the refunds and disputes waiting here). With a restricted key we also ask Stripe which invoice the
 * payment intent paid (`GET /v1/invoice_payments`), and, for a dispute that names only the charge, the charge's
 * payment intent (`GET /v1/charges/:id`).
 * The conversion is returned locked (`FOR UPDATE`).
 */
import type { ConversionRow } from '../db/schema.ts';
import { findSaleByKeys } from '../conversions/conversions.repository.ts';
import { type HandlerContext, presentIds } from './handlers/handler.ts';

export async function findSaleForCharge(
  ctx: HandlerContext,
  ids: { chargeId: string | null; paymentIntentId: string | null; invoiceId?: string | null },
): Promise<ConversionRow | undefined> {
  const { trx, program, stripe } = ctx;
  const direct = await findSaleByKeys(trx, program.id, ids, { lock: true });
  if (direct || !stripe) return direct;
  let { paymentIntentId, invoiceId } = ids;
  if (!paymentIntentId && ids.chargeId) {
    const charge = await stripe.charge(ids.chargeId);
    paymentIntentId = charge?.payment_intent ?? null;
    invoiceId ??= charge?.invoice ?? null;
    if (paymentIntentId || invoiceId) {
      const found = await findSaleByKeys(trx, program.id, { paymentIntentId, invoiceId }, { lock: true });
      if (found) return found;
    }
  }
  if (!paymentIntentId) return undefined;
  const paidInvoice = await stripe.invoiceForPaymentIntent(paymentIntentId);
  return paidInvoice ? findSaleByKeys(trx, program.id, { invoiceId: paidInvoice }, { lock: true }) : undefined;
}

/** The Stripe ids a refund or dispute can wait for (a sale known by one of them wakes it up). */
export const waitKeys = presentIds;
