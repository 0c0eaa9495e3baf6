/**
 * `invoice_payment.paid` (API 2025-03-31 "basil" and later): which payment paid which invoice. Since basil an
 * invoice names neither its charge nor its payment intent, and a charge no longer names its invoice, so a
 * subscription payment recorded from `invoice.paid` (or from its Checkout Session) is known only by its invoice
 * id; this event is the one place the webhook stream links the two. The sale of `invoice` learns the payment's
 * payment intent and charge (`fillMissingKeys`: only ids it lacks and no other sale holds), and the refunds and
 * disputes of that payment waiting for them run at once (`wakes`).
 *
 * - The invoice's sale not recorded yet (the events come in any order): deferred, waiting for the invoice id; the
 *   sale wakes it. An invoice nobody referred never gets a sale: after `SHORT_WAIT` attempts it ends `ignored`
 *   (`sale_not_found`), still woken if that sale comes later.
 * - A payment of another type (`out_of_band`, no payment intent or charge): nothing to link.
 * - One payment intent per sale: the invoice's first linked payment is kept (a second partial payment of the
 *   same invoice is not linked).
 * Sources: https://docs.stripe.com/api/invoice-payment/object, https://docs.stripe.com/api/events/types#event_types-invoice_payment.paid,
 * https://docs.stripe.com/changelog/basil/2025-03-31/add-support-for-multiple-partial-payments-on-invoices
 */
import { fillMissingKeys, findSaleByKeys } from '../../conversions/conversions.repository.ts';
import { invoicePayment } from '../stripe-objects.ts';
import { ifUnreferred, ignored, malformed, presentIds, SHORT_WAIT, type StripeEventHandler } from './handler.ts';

export const handleInvoicePaymentPaid: StripeEventHandler = async (ctx, event) => {
  const parsed = invoicePayment.safeParse(event.data.object);
  if (!parsed.success) return malformed('invoice_payment', parsed.error.issues);
  const p = parsed.data;
  if (p.status && p.status !== 'paid') return ignored('not_paid');
  const invoiceId = p.invoice;
  if (!invoiceId) return ignored('no_invoice');
  const paymentIntentId = p.payment?.payment_intent ?? null;
  const chargeId = p.payment?.charge ?? null;
  if (!paymentIntentId && !chargeId) return ignored('no_payment_to_link');

  const sale = await findSaleByKeys(ctx.trx, ctx.program.id, { invoiceId }, { lock: true });
  if (!sale)
    return (
      // An invoice nobody referred: its payment's refunds and disputes end now too.
      (await ifUnreferred(ctx, [invoiceId], presentIds(paymentIntentId, chargeId))) ?? {
        status: 'deferred',
        reason: 'sale_not_found',
        waitingFor: [invoiceId],
        giveUp: 'ignored',
        maxAttempts: SHORT_WAIT,
      }
    );
  await fillMissingKeys(ctx.trx, sale, { paymentIntentId, chargeId });
  const wakes = [invoiceId, paymentIntentId, chargeId].filter((v): v is string => Boolean(v));
  return { status: 'processed', wakes };
};
