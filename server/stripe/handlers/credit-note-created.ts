/**
 * `credit_note.created`: money given back on a paid invoice takes the commission back pro rata, like a refund.
 *
 * - Only the part after payment counts (`post_payment_amount`; older payloads: the whole `amount` of a
 *   `post_payment` note): a pre-payment credit note lowered what the invoice asked, and `invoice.paid` already
 *   counted only what was paid.
 * - The part returned as a Stripe refund is left out: it arrives as `charge.refunded` (cumulative on the charge),
 *   which takes it back; counting it here too would reverse it twice. Current payloads list those refunds
 *   (`refunds[].amount_refunded`); before 2025-03-31 a note had at most one `refund`, and a note with one is taken
 *   to be refunded except its `out_of_band_amount`.
 * - What is left (customer-balance credit, out of band) is `credited_amount` on the conversion: the note's amount
 *   is tax-inclusive like `gross_amount` (what the invoice was paid), so the share is
 *   `prorate(conversion.amount, credited, gross_amount)`; refunds and credits together never pass the sale.
 * - Each credit note counts once (`stripe_credit_notes`, keyed by its id): a replay changes nothing. A note whose
 *   invoice sale is not recorded yet is deferred until it is. A note already voided (`credit-note-voided.ts`)
 *   credits nothing.
 * `commission-adjustments.ts` then moves the commission (reduced or `reversed` before payment, a clawback after).
 * Source: https://docs.stripe.com/api/credit_notes/object, https://docs.stripe.com/invoicing/dashboard/credit-notes
 */
import { z } from 'zod';
import { prorate } from '../../commissions/money.ts';
import { reconcileCommission } from '../../commissions/commission-adjustments.ts';
import { findSaleByKeys, updateConversion } from '../../conversions/conversions.repository.ts';
import { waitKeys } from '../sale-lookup.ts';
import { currencyCode, minorUnits, stripeRef } from '../stripe-objects.ts';
import { awaitSale, ignored, malformed, type StripeEventHandler } from './handler.ts';

/** The fields of a credit note both handlers read (`credit_note.created`, `credit_note.voided`). */
export const creditNote = z.looseObject({
  id: z.string().min(1).max(255),
  object: z.literal('credit_note'),
  invoice: stripeRef,
  amount: minorUnits,
  currency: currencyCode,
  status: z.string().nullish(),
  type: z.string().nullish(),
  out_of_band_amount: minorUnits.nullish(),
  post_payment_amount: minorUnits.nullish().catch(null),
  // before 2025-03-31
  refund: stripeRef.optional(),
  // 2025-03-31 and later
  refunds: z
    .array(z.looseObject({ amount_refunded: minorUnits }))
    .nullish()
    .catch(null),
});

/** The part of a credit note given back other than as a Stripe refund (tax-inclusive minor units). */
export function creditedOutsideRefunds(cn: z.infer<typeof creditNote>): number {
  const afterPayment = cn.post_payment_amount ?? (cn.type === 'post_payment' ? cn.amount : 0);
  if (afterPayment <= 0) return 0;
  if (cn.refunds) return Math.max(0, afterPayment - cn.refunds.reduce((s, r) => s + r.amount_refunded, 0));
  if (cn.refund) return Math.min(afterPayment, cn.out_of_band_amount ?? 0);
  return afterPayment;
}

export const handleCreditNoteCreated: StripeEventHandler = async (ctx, event) => {
  const parsed = creditNote.safeParse(event.data.object);
  if (!parsed.success) return malformed('credit_note', parsed.error.issues);
  const cn = parsed.data;
  if (cn.status === 'void') return ignored('voided');
  if (!cn.invoice) return ignored('no_invoice');
  const credited = creditedOutsideRefunds(cn);
  if (credited <= 0) {
    const beforePayment =
      cn.post_payment_amount === 0 || (cn.post_payment_amount == null && cn.type !== 'post_payment');
    return ignored(beforePayment ? 'pre_payment' : 'refunded_by_charge');
  }

  const conversion = await findSaleByKeys(ctx.trx, ctx.program.id, { invoiceId: cn.invoice }, { lock: true });
  if (!conversion) return awaitSale(ctx, waitKeys(cn.invoice), { giveUp: 'ignored' });
  if (conversion.currency !== cn.currency) return ignored('currency_mismatch');

  const gross = conversion.gross_amount && conversion.gross_amount > 0 ? conversion.gross_amount : conversion.amount;
  const share = prorate(conversion.amount, Math.min(credited, gross), gross);
  const room = Math.max(0, conversion.amount - conversion.refunded_amount - conversion.credited_amount);
  const applied = Math.min(share, room);
  const claimed = await ctx.trx
    .insertInto('stripe_credit_notes')
    .values({ program_id: ctx.program.id, id: cn.id, conversion_id: conversion.id, credited_amount: applied })
    .onConflict((oc) => oc.columns(['program_id', 'id']).doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!claimed) {
    const known = await ctx.trx
      .selectFrom('stripe_credit_notes')
      .select('voided_at')
      .where('program_id', '=', ctx.program.id)
      .where('id', '=', cn.id)
      .executeTakeFirst();
    return ignored(known?.voided_at ? 'credit_note_voided' : 'credit_note_already_applied');
  }
  if (applied <= 0) return ignored('nothing_left_to_credit');

  const updated = await updateConversion(ctx.trx, conversion.id, {
    credited_amount: conversion.credited_amount + applied,
  });
  await reconcileCommission(ctx.trx, updated, {
    at: ctx.now,
    reason: updated.refunded_amount + updated.credited_amount >= updated.amount ? 'credited' : 'partially_credited',
  });
  return { status: 'processed' };
};
