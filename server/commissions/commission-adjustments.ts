/**
 * Commission adjustments when money goes back to the customer: refunds and disputes (Stripe handlers).
 *
 * The conversion row holds the facts (`refunded_amount`, `credited_amount` — credit notes given as credit or out
 * of band —, `dispute_status`, `disputed_amount`, all in the conversion's own net-of-tax minor units); `reconcileCommission` moves the conversion's commission to what
 * those facts imply. It is a function of the facts, not of the events, so replaying an event, or receiving
 * events twice or out of order, changes nothing, and a dispute won after it was lost gives the money back.
 *
 * With `N` the conversion amount and `E` what the commission first earned (`amount + reversed_amount`):
 * - taken back for good: `prorate(E, refunded + (lost ? disputed : 0), N)`, where refunded counts refunds and
 *   credit notes together, capped at `N` (the disputed part is capped at what is not refunded);
 * - at risk while a dispute is open: the disputed part of the rest.
 *
 * Before payment (status `pending` / `on_hold` / `approved` / `reversed`, no `payout_id`): the commission is
 * changed in place: `amount` drops and `reversed_amount` grows; all of it taken back → status `reversed`; an open
 * dispute → `on_hold` with `hold_reason = 'dispute'`; a won dispute → back to the status it had before the hold.
 * After payment (`paid`, or covered by a payout): negative `clawback` commissions (`reverses_commission_id` =
 * the paid one, status `approved`, so the next payout nets them), an `on_hold` clawback for the part at risk in
 * an open dispute (released when it is lost, reversed when it is won), and a positive reinstatement when money
 * that was already clawed back and netted comes back.
 *
 * Every change is appended to `commission_events` with actor `stripe`. Call inside the transaction that locked
 * the conversion (`FOR UPDATE`); the commissions are locked here.
 * Sources: https://docs.stripe.com/refunds, https://docs.stripe.com/disputes/how-disputes-work
 */
import type { DbOrTrx } from '../db/database.ts';
import type { CommissionRow, CommissionStatus, ConversionRow } from '../db/schema.ts';
import { newId } from '../lib/ids.ts';
import { prorate } from './money.ts';
import { insertCommission, insertCommissionEvent, transitionCommission } from './commissions.repository.ts';

/** Statuses of a clawback (or reinstatement) that count as settled or due. */
const ACTIVE: readonly CommissionStatus[] = ['pending', 'approved', 'paid'];

export interface AdjustmentResult {
  /** The conversion's earning commission, after the change (null when it has none). */
  commission: CommissionRow | null;
  /** How many commission rows were changed or created. */
  changes: number;
}

/** What the facts on the conversion say should be taken back, in commission minor units. */
export function adjustmentTargets(
  earned: number,
  c: Pick<ConversionRow, 'amount' | 'refunded_amount' | 'dispute_status' | 'disputed_amount'> &
    Partial<Pick<ConversionRow, 'credited_amount'>>,
): { confirmed: number; atRisk: number } {
  const n = c.amount;
  if (n <= 0 || earned <= 0) return { confirmed: 0, atRisk: 0 };
  const refunded = Math.min(c.refunded_amount + (c.credited_amount ?? 0), n);
  const disputed = Math.min(c.disputed_amount, n - refunded);
  const lost = c.dispute_status === 'lost' ? disputed : 0;
  const confirmed = prorate(earned, refunded + lost, n);
  const atRisk = c.dispute_status === 'open' ? prorate(earned, refunded + disputed, n) - confirmed : 0;
  return { confirmed, atRisk };
}

/** The status a commission had before it was held or reversed (its history), else `pending`. */
async function statusBeforeHold(trx: DbOrTrx, commissionId: string): Promise<CommissionStatus> {
  const row = await trx
    .selectFrom('commission_events')
    .select('from_status')
    .where('commission_id', '=', commissionId)
    .where('to_status', 'in', ['on_hold', 'reversed'])
    .where('from_status', 'not in', ['on_hold', 'reversed'])
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  const s = row?.from_status;
  return s === 'approved' ? 'approved' : 'pending';
}

/**
 * Bring the conversion's commission in line with its refunds and dispute (see the module header).
 * @param conversion the conversion, locked and already updated with the new facts
 * @param opts.reason why, for the history (`refund`, `dispute_opened`, `dispute_lost`, `dispute_won`, ...)
 */
export async function reconcileCommission(
  trx: DbOrTrx,
  conversion: ConversionRow,
  opts: { at: Date; reason: string },
): Promise<AdjustmentResult> {
  const { at, reason } = opts;
  let sale = await trx
    .selectFrom('commissions')
    .selectAll()
    .where('conversion_id', '=', conversion.id)
    .where('amount', '>=', 0)
    .where('kind', '!=', 'clawback')
    .forUpdate()
    .executeTakeFirst();
  if (!sale || sale.status === 'rejected') return { commission: sale ?? null, changes: 0 };

  const earned = sale.amount + sale.reversed_amount;
  const { confirmed, atRisk } = adjustmentTargets(earned, conversion);
  const open = conversion.dispute_status === 'open';
  const lost = conversion.dispute_status === 'lost';
  let changes = 0;

  // Clawbacks of this commission (negative) and reinstatements of netted clawbacks (positive), oldest first.
  const clawbacks = await trx
    .selectFrom('commissions')
    .selectAll()
    .where('reverses_commission_id', '=', sale.id)
    .orderBy('created_at')
    .orderBy('id')
    .forUpdate()
    .execute();
  const reinstatements = clawbacks.length
    ? await trx
        .selectFrom('commissions')
        .selectAll()
        .where(
          'reverses_commission_id',
          'in',
          clawbacks.map((c) => c.id),
        )
        .where('amount', '>', 0)
        .forUpdate()
        .execute()
    : [];

  // 1. A clawback held for a dispute that is over: released when lost, reversed when won.
  for (let i = 0; i < clawbacks.length; i++) {
    const c = clawbacks[i]!;
    if (c.status !== 'on_hold' || c.hold_reason !== 'dispute' || open) continue;
    clawbacks[i] = await transitionCommission(trx, c, lost ? 'approved' : 'reversed', {
      at,
      actor: 'stripe',
      reason: lost ? 'dispute_lost' : 'dispute_won',
      patch: { hold_reason: null, payable_at: at },
    });
    changes++;
  }

  const clawedBack =
    clawbacks.filter((c) => ACTIVE.includes(c.status)).reduce((s, c) => s - c.amount, 0) -
    reinstatements.filter((r) => ACTIVE.includes(r.status)).reduce((s, r) => s + r.amount, 0);
  const paid = sale.status === 'paid' || sale.payout_id !== null;

  if (!paid) {
    // 2a. Not paid yet: change the commission itself.
    const inPlace = Math.min(earned, Math.max(0, confirmed - clawedBack));
    const amount = earned - inPlace;
    const disputeHeld = sale.status === 'on_hold' && sale.hold_reason === 'dispute';
    let status: CommissionStatus = sale.status;
    if (amount <= 0) status = 'reversed';
    else if (open) status = 'on_hold';
    else if (sale.status === 'reversed' || disputeHeld) status = await statusBeforeHold(trx, sale.id);
    // A hold for another reason (a fraud check) stays; a dispute hold comes and goes with the dispute.
    const otherHold = sale.status === 'on_hold' && !disputeHeld ? sale.hold_reason : null;
    const holdReason = status === 'on_hold' ? (otherHold ?? 'dispute') : null;
    if (amount !== sale.amount || status !== sale.status || holdReason !== sale.hold_reason) {
      const patch = {
        amount,
        reversed_amount: inPlace,
        hold_reason: holdReason,
        ...(status === 'reversed' ? { reason: reason } : {}),
      };
      if (status !== sale.status) {
        sale = await transitionCommission(trx, sale, status, { at, actor: 'stripe', reason, patch });
      } else {
        sale = await trx
          .updateTable('commissions')
          .set({ ...patch, updated_at: at })
          .where('id', '=', sale.id)
          .returningAll()
          .executeTakeFirstOrThrow();
        await insertCommissionEvent(trx, {
          commissionId: sale.id,
          programId: sale.program_id,
          from: sale.status,
          to: sale.status,
          amount,
          actor: 'stripe',
          reason,
          at,
        });
      }
      changes++;
    }
    return { commission: sale, changes };
  }

  // 2b. Paid (or in a payout): claw back what is newly taken, give back what is no longer taken.
  const base = {
    program_id: sale.program_id,
    affiliate_id: sale.affiliate_id,
    currency: sale.currency,
    rate_bps: null,
    payable_at: at,
  };
  const delta = confirmed - (sale.reversed_amount + clawedBack);
  if (delta > 0) {
    const row = await insertCommission(trx, {
      ...base,
      id: newId('com'),
      conversion_id: conversion.id,
      amount: -delta,
      kind: 'clawback',
      status: 'approved',
      approved_at: at,
      reverses_commission_id: sale.id,
      reason,
    });
    await insertCommissionEvent(trx, {
      commissionId: row.id,
      programId: row.program_id,
      from: null,
      to: 'approved',
      amount: row.amount,
      actor: 'stripe',
      reason,
      at,
    });
    changes++;
  } else if (delta < 0) {
    let give = -delta;
    // Undo clawbacks no payout has netted yet, newest first; what a payout already netted comes back as a credit.
    for (const c of [...clawbacks].reverse()) {
      if (give === 0) break;
      if (c.status === 'paid' || c.payout_id !== null || !ACTIVE.includes(c.status)) continue;
      const magnitude = -c.amount;
      if (magnitude <= give) {
        await transitionCommission(trx, c, 'reversed', { at, actor: 'stripe', reason });
        give -= magnitude;
      } else {
        const newAmount = c.amount + give;
        await trx
          .updateTable('commissions')
          .set({ amount: newAmount, updated_at: at })
          .where('id', '=', c.id)
          .execute();
        await insertCommissionEvent(trx, {
          commissionId: c.id,
          programId: c.program_id,
          from: c.status,
          to: c.status,
          amount: newAmount,
          actor: 'stripe',
          reason,
          at,
        });
        give = 0;
      }
      changes++;
    }
    if (give > 0) {
      const netted = [...clawbacks].reverse().find((c) => c.status === 'paid' || c.payout_id !== null);
      const row = await insertCommission(trx, {
        ...base,
        id: newId('com'),
        // Not tied to the conversion: a conversion earns one non-negative commission (unique index).
        conversion_id: null,
        amount: give,
        kind: sale.kind,
        status: 'approved',
        approved_at: at,
        reverses_commission_id: netted?.id ?? sale.id,
        reason: `reinstated: ${reason}`,
      });
      await insertCommissionEvent(trx, {
        commissionId: row.id,
        programId: row.program_id,
        from: null,
        to: 'approved',
        amount: row.amount,
        actor: 'stripe',
        reason,
        at,
      });
      changes++;
    }
  }

  // 3. The part at risk in an open dispute: one held clawback, kept at the right size.
  const held = clawbacks.find((c) => c.status === 'on_hold' && c.hold_reason === 'dispute');
  if (open && atRisk > 0 && !held) {
    const row = await insertCommission(trx, {
      ...base,
      id: newId('com'),
      conversion_id: conversion.id,
      amount: -atRisk,
      kind: 'clawback',
      status: 'on_hold',
      hold_reason: 'dispute',
      reverses_commission_id: sale.id,
      reason,
    });
    await insertCommissionEvent(trx, {
      commissionId: row.id,
      programId: row.program_id,
      from: null,
      to: 'on_hold',
      amount: row.amount,
      actor: 'stripe',
      reason,
      at,
    });
    changes++;
  } else if (held && open && atRisk > 0 && held.amount !== -atRisk) {
    await trx.updateTable('commissions').set({ amount: -atRisk, updated_at: at }).where('id', '=', held.id).execute();
    await insertCommissionEvent(trx, {
      commissionId: held.id,
      programId: held.program_id,
      from: 'on_hold',
      to: 'on_hold',
      amount: -atRisk,
      actor: 'stripe',
      reason,
      at,
    });
    changes++;
  } else if (held && open && atRisk === 0) {
    await transitionCommission(trx, held, 'reversed', { at, actor: 'stripe', reason });
    changes++;
  }
  return { commission: sale, changes };
}
