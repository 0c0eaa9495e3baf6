/** SQL for conversions. Every query is scoped by program id. */
import { sql, type Insertable, type Updateable } from 'kysely';
import type { DbOrTrx } from '../db/database.ts';
import type { ConversionsTable, ConversionRow } from '../db/schema.ts';
import {
  commissionFactsParts,
  type CommissionFactsColumns,
  type FactsConversion,
} from '../commissions/commissions.repository.ts';

/**
 * Insert a conversion unless one with the same Stripe session / payment intent / charge / invoice / external id,
 * or the same subscription's first payment, exists in the program (the partial unique indexes). A concurrent
 * insert of the same sale waits for the other transaction, then does nothing. With `referralId` and `binding`,
 * the referral becomes a `customer` bound to the Stripe customer in the same statement, only if inserted.
 * With `facts`, the statement also returns what its commission needs from the history (`commissionFactsParts`,
 * read with the statement's snapshot, which does not hold the new row): a round trip less per sale.
 * @returns the new row (with the fact columns when asked), or undefined for a duplicate
 */
export async function insertConversionOnce(
  db: DbOrTrx,
  referralId: string | null,
  binding: { stripeCustomerId: string | null; email: string | null } | null,
  row: Insertable<ConversionsTable> & { id: string },
  facts?: { ipWindowFrom?: Date },
): Promise<(ConversionRow & Partial<CommissionFactsColumns>) | undefined> {
  const parts = facts ? commissionFactsParts(db, factsConversionOf(row), { ...facts, conversionStored: false }) : null;
  // The IP the per-IP fraud limit counts conversions by (migration 0009): the referral's latest click that had one.
  const clickIp = row.referral_id
    ? db
        .selectFrom('clicks')
        .select('ip')
        .where('referral_id', '=', row.referral_id)
        .where('ip', 'is not', null)
        .orderBy('id', 'desc')
        .limit(1)
    : null;
  const values = { ...row, click_ip: clickIp };
  if ((!referralId || !binding) && !parts) {
    return db
      .insertInto('conversions')
      .values(values)
      .onConflict((oc) => oc.doNothing())
      .returningAll()
      .executeTakeFirst();
  }
  // One statement: the insert, and (only when it inserted) the referral becoming a customer bound to the
  // Stripe customer (data-modifying CTEs see each other's RETURNING rows).
  const q = db
    .with('inserted', (qb) =>
      qb
        .insertInto('conversions')
        .values(values)
        .onConflict((oc) => oc.doNothing())
        .returningAll(),
    )
    .with('bound', (qb) =>
      qb
        .updateTable('referrals')
        .set((eb) => ({
          status: 'customer' as const,
          stripe_customer_id: eb.fn.coalesce('stripe_customer_id', eb.val(binding?.stripeCustomerId ?? null)),
          email: eb.fn.coalesce('email', eb.val(binding?.email ?? null)),
        }))
        .where((eb) => (binding && referralId ? eb('id', '=', referralId) : eb.val(false)))
        .where((eb) => eb.exists(eb.selectFrom('inserted').select('inserted.id')))
        .returning('referrals.id'),
    );
  if (!parts) return q.selectFrom('inserted').selectAll().executeTakeFirst();
  return q.selectFrom(['inserted', parts.f]).selectAll('inserted').select(parts.columns).executeTakeFirst();
}

/** The fields of a conversion about to be inserted that its commission facts read. */
function factsConversionOf(row: Insertable<ConversionsTable> & { id: string }): FactsConversion {
  return {
    id: row.id,
    program_id: row.program_id,
    affiliate_id: row.affiliate_id,
    kind: row.kind,
    referral_id: row.referral_id ?? null,
    stripe_subscription_id: row.stripe_subscription_id ?? null,
    occurred_at: row.occurred_at as Date,
  };
}

/** The Stripe ids one payment may be known by. */
export interface PaymentKeys {
  checkoutSessionId?: string | null;
  paymentIntentId?: string | null;
  chargeId?: string | null;
  invoiceId?: string | null;
  /** With `firstPaymentOfSubscription`: the subscription whose first payment this is. */
  subscriptionId?: string | null;
  firstPaymentOfSubscription?: boolean;
}

/**
 * The sale conversion known by any of `keys`, optionally locked (`FOR UPDATE`) for a refund or dispute.
 * Undefined when none.
 */
export function findSaleByKeys(db: DbOrTrx, programId: string, keys: PaymentKeys, opts: { lock?: boolean } = {}) {
  let q = db
    .selectFrom('conversions')
    .selectAll()
    .where('program_id', '=', programId)
    .where('kind', '=', 'sale')
    .where((eb) => {
      const ors = [];
      if (keys.checkoutSessionId) ors.push(eb('stripe_checkout_session_id', '=', keys.checkoutSessionId));
      if (keys.paymentIntentId) ors.push(eb('stripe_payment_intent_id', '=', keys.paymentIntentId));
      if (keys.chargeId) ors.push(eb('stripe_charge_id', '=', keys.chargeId));
      if (keys.invoiceId) ors.push(eb('stripe_invoice_id', '=', keys.invoiceId));
      if (keys.subscriptionId && keys.firstPaymentOfSubscription) {
        ors.push(eb.and([eb('stripe_subscription_id', '=', keys.subscriptionId), eb('sequence', '=', 1)]));
      }
      return ors.length ? eb.or(ors) : eb.val(false);
    })
    .orderBy('created_at')
    .limit(1);
  if (opts.lock) q = q.forUpdate();
  return q.executeTakeFirst();
}

/** Whether any sale conversion of the program is known by one of these Stripe ids (payment, session or subscription). */
export async function saleExistsForAny(db: DbOrTrx, programId: string, ids: readonly string[]): Promise<boolean> {
  if (ids.length === 0) return false;
  const row = await db
    .selectFrom('conversions')
    .select('id')
    .where('program_id', '=', programId)
    .where('kind', '=', 'sale')
    .where((eb) =>
      eb.or([
        eb('stripe_payment_intent_id', 'in', ids),
        eb('stripe_charge_id', 'in', ids),
        eb('stripe_invoice_id', 'in', ids),
        eb('stripe_checkout_session_id', 'in', ids),
        eb('stripe_subscription_id', 'in', ids),
      ]),
    )
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Fill Stripe ids the conversion lacks (a Checkout Session learns its charge from the first invoice, and so on),
 * each only when no other conversion of the program holds it, so the unique keys stay intact.
 */
export async function fillMissingKeys(
  db: DbOrTrx,
  c: ConversionRow,
  keys: {
    paymentIntentId?: string | null;
    chargeId?: string | null;
    invoiceId?: string | null;
    subscriptionId?: string | null;
    customerId?: string | null;
    checkoutSessionId?: string | null;
    grossAmount?: number | null;
  },
): Promise<void> {
  const patch: Updateable<ConversionsTable> = {};
  const candidates: [keyof ConversionRow & keyof ConversionsTable, string | null | undefined][] = [
    ['stripe_payment_intent_id', keys.paymentIntentId],
    ['stripe_charge_id', keys.chargeId],
    ['stripe_invoice_id', keys.invoiceId],
    ['stripe_checkout_session_id', keys.checkoutSessionId],
  ];
  for (const [column, value] of candidates) {
    if (!value || c[column] !== null) continue;
    const taken = await db
      .selectFrom('conversions')
      .select('id')
      .where('program_id', '=', c.program_id)
      .where(column as 'stripe_charge_id', '=', value)
      .limit(1)
      .executeTakeFirst();
    if (!taken) (patch as Record<string, unknown>)[column] = value;
  }
  if (keys.subscriptionId && c.stripe_subscription_id === null) {
    const taken =
      c.sequence === 1 &&
      (await db
        .selectFrom('conversions')
        .select('id')
        .where('program_id', '=', c.program_id)
        .where('stripe_subscription_id', '=', keys.subscriptionId)
        .where('sequence', '=', 1)
        .limit(1)
        .executeTakeFirst());
    if (!taken) patch.stripe_subscription_id = keys.subscriptionId;
  }
  if (keys.customerId && c.stripe_customer_id === null) patch.stripe_customer_id = keys.customerId;
  if (keys.grossAmount != null && c.gross_amount === null) patch.gross_amount = keys.grossAmount;
  if (Object.keys(patch).length === 0) return;
  await db.updateTable('conversions').set(patch).where('id', '=', c.id).execute();
}

/** How many sale payments of a subscription are recorded (the next one is `sequence` = this + 1). */
export async function countSubscriptionPayments(
  db: DbOrTrx,
  programId: string,
  subscriptionId: string,
): Promise<{ n: number; endedAt: Date | null }> {
  const row = await db
    .selectFrom('conversions')
    .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.max('subscription_ended_at').as('ended_at')])
    .where('program_id', '=', programId)
    .where('stripe_subscription_id', '=', subscriptionId)
    .where('kind', '=', 'sale')
    .executeTakeFirstOrThrow();
  return { n: Number(row.n), endedAt: (row.ended_at as Date | null) ?? null };
}

/**
 * The number a renewal of `subscriptionId` paid at `occurredAt` takes among the subscription's recorded payments:
 * 1 + the first payment (`sequence = 1`) + the renewals paid before it (ties broken by invoice id), so renewals are
 * numbered in Stripe's order whatever order their events arrive in. Also when the subscription ended
 * `subscription_ended_at`). Call after locking the subscription's first payment (`findSaleByKeys` with `lock`), so
 * concurrent renewals of one subscription are numbered one after the other.
 */
export async function renewalSequence(
  db: DbOrTrx,
  programId: string,
  subscriptionId: string,
  paid: { occurredAt: Date; invoiceId: string },
): Promise<{ sequence: number; endedAt: Date | null }> {
  const row = await db
    .selectFrom('conversions')
    .select((eb) => [
      eb.fn
        .countAll<number>()
        .filterWhere((w) =>
          w.or([
            w('sequence', '=', 1),
            w('occurred_at', '<', paid.occurredAt),
            w.and([w('occurred_at', '=', paid.occurredAt), w('stripe_invoice_id', '<', paid.invoiceId)]),
          ]),
        )
        .as('before'),
      eb.fn.max('subscription_ended_at').as('ended_at'),
    ])
    .where('program_id', '=', programId)
    .where('stripe_subscription_id', '=', subscriptionId)
    .where('kind', '=', 'sale')
    .executeTakeFirstOrThrow();
  return { sequence: Number(row.before) + 1, endedAt: (row.ended_at as Date | null) ?? null };
}

/**
 * Make room for a renewal numbered `from`: the subscription's payments numbered `from` or more move up by one. The
 * unique index on `(program_id, stripe_subscription_id, sequence)` (migration 0013) is checked row by row, so they
 * move in two statements that never collide: out of the way (+ 1,000,000), then back down to their place + 1.
 * `from` must be > 1: the first payment never moves. Call with the subscription's first payment locked.
 * @returns how many conversions moved
 */
export async function shiftRenewals(
  db: DbOrTrx,
  programId: string,
  subscriptionId: string,
  from: number,
): Promise<number> {
  if (from < 2) throw new Error('the first payment of a subscription never moves');
  const OUT_OF_THE_WAY = 1_000_000;
  const res = await db
    .updateTable('conversions')
    .set((eb) => ({ sequence: eb('sequence', '+', OUT_OF_THE_WAY) }))
    .where('program_id', '=', programId)
    .where('stripe_subscription_id', '=', subscriptionId)
    .where('sequence', '>=', from)
    .where('sequence', '<', OUT_OF_THE_WAY)
    .executeTakeFirst();
  const moved = Number(res.numUpdatedRows);
  if (moved === 0) return 0;
  await db
    .updateTable('conversions')
    .set((eb) => ({ sequence: eb('sequence', '-', OUT_OF_THE_WAY - 1) }))
    .where('program_id', '=', programId)
    .where('stripe_subscription_id', '=', subscriptionId)
    .where('sequence', '>=', OUT_OF_THE_WAY)
    .execute();
  return moved;
}

/** The referral of a subscription's earliest sale (renewals follow the sale that started the subscription). */
export function findSubscriptionReferral(db: DbOrTrx, programId: string, subscriptionId: string) {
  return db
    .selectFrom('conversions')
    .innerJoin('referrals', 'referrals.id', 'conversions.referral_id')
    .selectAll('referrals')
    .where('conversions.program_id', '=', programId)
    .where('conversions.stripe_subscription_id', '=', subscriptionId)
    .where('conversions.kind', '=', 'sale')
    .orderBy('conversions.occurred_at')
    .limit(1)
    .executeTakeFirst();
}

/** Mark every conversion of the subscription as ended (the first end wins: a replay changes nothing). */
export async function markSubscriptionEnded(
  db: DbOrTrx,
  programId: string,
  subscriptionId: string,
  at: Date,
): Promise<number> {
  const res = await db
    .updateTable('conversions')
    .set({ subscription_ended_at: sql<Date>`coalesce(subscription_ended_at, ${at})` })
    .where('program_id', '=', programId)
    .where('stripe_subscription_id', '=', subscriptionId)
    .executeTakeFirst();
  return Number(res.numUpdatedRows);
}

export function updateConversion(db: DbOrTrx, id: string, patch: Updateable<ConversionsTable>) {
  return db.updateTable('conversions').set(patch).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}

export function findConversion(db: DbOrTrx, programId: string, id: string) {
  return db
    .selectFrom('conversions')
    .selectAll()
    .where('program_id', '=', programId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export function findConversionByExternalId(db: DbOrTrx, programId: string, externalId: string) {
  return db
    .selectFrom('conversions')
    .selectAll()
    .where('program_id', '=', programId)
    .where('external_id', '=', externalId)
    .executeTakeFirst();
}

export function findLeadConversion(db: DbOrTrx, programId: string, referralId: string) {
  return db
    .selectFrom('conversions')
    .selectAll()
    .where('program_id', '=', programId)
    .where('referral_id', '=', referralId)
    .where('kind', '=', 'lead')
    .executeTakeFirst();
}

export function listConversions(
  db: DbOrTrx,
  programId: string,
  opts: { affiliateId?: string; limit: number; offset: number },
) {
  let q = db.selectFrom('conversions').selectAll().where('program_id', '=', programId);
  if (opts.affiliateId) q = q.where('affiliate_id', '=', opts.affiliateId);
  return q.orderBy('occurred_at', 'desc').orderBy('id').limit(opts.limit).offset(opts.offset).execute();
}

/** Claim an `Idempotency-Key` (waits for a concurrent request with the same key). Undefined = already stored. */
export function findApiRequest(db: DbOrTrx, programId: string, key: string) {
  return db
    .selectFrom('conversion_api_requests')
    .selectAll()
    .where('program_id', '=', programId)
    .where('idempotency_key', '=', key)
    .executeTakeFirst();
}

export function insertApiRequestOnce(
  db: DbOrTrx,
  row: { program_id: string; idempotency_key: string; request_hash: string; status_code: number; response: string },
) {
  return db
    .insertInto('conversion_api_requests')
    .values(row)
    .onConflict((oc) => oc.columns(['program_id', 'idempotency_key']).doNothing())
    .returning('idempotency_key')
    .executeTakeFirst();
}

export function updateApiRequest(db: DbOrTrx, programId: string, key: string, statusCode: number, response: string) {
  return db
    .updateTable('conversion_api_requests')
    .set({ status_code: statusCode, response })
    .where('program_id', '=', programId)
    .where('idempotency_key', '=', key)
    .execute();
}
