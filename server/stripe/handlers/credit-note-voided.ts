/**
 * `credit_note.voided`: a credit note the merchant voided gives its credit back, so the commission it reduced is
 * restored (`commission-adjustments.ts` computes the commission from the conversion's facts: with less credited, a
 * reduced or reversed commission grows back before payment; after payment a reinstatement nets the clawback).
 *
 * - The note's share is what `credit_note.created` recorded in `stripe_credit_notes` (the amount it actually
 *   credited, after the cap); voiding takes exactly that off `conversions.credited_amount`, once (`voided_at`).
 * - Voided before its `created` was processed (any order): the note is recorded voided with no conversion, and the
 *   later `created` credits nothing.
 * - Only issued notes can be voided in Stripe, and a voided note cannot be reissued.
 * Source: https://docs.stripe.com/api/credit_notes/void, https://docs.stripe.com/api/events/types#event_types-credit_note.voided
 */
import { reconcileCommission } from '../../commissions/commission-adjustments.ts';
import { updateConversion } from '../../conversions/conversions.repository.ts';
import { creditNote } from './credit-note-created.ts';
import { ignored, malformed, type StripeEventHandler } from './handler.ts';

export const handleCreditNoteVoided: StripeEventHandler = async (ctx, event) => {
  const parsed = creditNote.safeParse(event.data.object);
  if (!parsed.success) return malformed('credit_note', parsed.error.issues);
  const cn = parsed.data;
  const { trx, program } = ctx;

  const note = await trx
    .selectFrom('stripe_credit_notes')
    .selectAll()
    .where('program_id', '=', program.id)
    .where('id', '=', cn.id)
    .forUpdate()
    .executeTakeFirst();
  if (!note) {
    const recorded = await trx
      .insertInto('stripe_credit_notes')
      .values({ program_id: program.id, id: cn.id, conversion_id: null, credited_amount: 0, voided_at: ctx.now })
      .onConflict((oc) => oc.columns(['program_id', 'id']).doNothing())
      .returning('id')
      .executeTakeFirst();
    // Its `created` committed meanwhile: the retry finds the note and gives its credit back.
    if (!recorded) throw new Error(`credit note ${cn.id}: recorded concurrently; retrying`);
    return ignored('credit_note_not_applied');
  }
  if (note.voided_at) return ignored('credit_note_already_voided');
  await trx
    .updateTable('stripe_credit_notes')
    .set({ voided_at: ctx.now })
    .where('program_id', '=', program.id)
    .where('id', '=', cn.id)
    .execute();
  if (!note.conversion_id || note.credited_amount <= 0) return ignored('credit_note_not_applied');

  const conversion = await trx
    .selectFrom('conversions')
    .selectAll()
    .where('id', '=', note.conversion_id)
    .forUpdate()
    .executeTakeFirstOrThrow();
  const updated = await updateConversion(trx, conversion.id, {
    credited_amount: Math.max(0, conversion.credited_amount - note.credited_amount),
  });
  await reconcileCommission(trx, updated, { at: ctx.now, reason: 'credit_note_voided' });
  return { status: 'processed' };
};
