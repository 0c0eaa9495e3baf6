/**
 * Commissions: what an affiliate earns from a conversion. Amounts are minor units in the sale's currency.
 *
 * Lifecycle (every change is appended to `commission_events`: who, what, when, why):
 * - created `pending` (payable after the program's hold period), `on_hold` when a fraud check fires, or
 *   `rejected` when the affiliate is not approved;
 * - `pending → approved` by the `approve-commissions` job once `payable_at` has passed (never `on_hold`);
 * - the merchant approves or rejects `pending` / `on_hold` ones, and may reject an `approved` one that no payout
 *   covers yet;
 * - `approved → paid` when the payout covering it completes (`payouts.service.ts`); a failed payout leaves it
 *   `approved` and back in the balance;
 * - `reversed` / clawbacks on refunds and disputes: `commission-adjustments.ts` (Stripe handlers). A commission
 *   with `payout_id` set is being paid: treat it as paid (claw back), do not reverse it.
 */
import { z } from 'zod';
import type { Db, DbOrTrx } from '../db/database.ts';
import type { CommissionKind, CommissionRow, CommissionStatus, ConversionRow, ProgramRow } from '../db/schema.ts';
import { ConflictError, NotFoundError } from '../lib/errors.ts';
import { newId } from '../lib/ids.ts';
import { AppError } from '../lib/errors.ts';
import { idFilter, idText, parseInput, storableText } from '../lib/validate.ts';
import { neutraliseFormula } from '../lib/csv.ts';
import { toDecimalString } from './money.ts';
import { paymentMonth, type SaleLineItem } from './rules.ts';
import { evaluateProgramRules } from './commission-rules.service.ts';
import * as repo from './commissions.repository.ts';

const DAY_MS = 86_400_000;

export type { SaleLineItem } from './rules.ts';

export const listCommissionsInput = z.object({
  status: z.enum(['pending', 'on_hold', 'approved', 'paid', 'rejected', 'reversed']).optional(),
  affiliateId: idFilter,
  payoutId: idFilter,
  /** A part of the affiliate's name, e-mail or referral code (any case). */
  search: storableText().trim().min(1).max(200).optional(),
  /** Order: `created_at` / `amount` / `payable_at`, `-` first for descending; default newest first. */
  sort: z.enum(repo.COMMISSION_SORTS).default('-created_at'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

/** `GET /api/v1/commissions/export`: the list's filters, every matching row (newest first). */
export const exportCommissionsInput = listCommissionsInput.pick({
  status: true,
  affiliateId: true,
  payoutId: true,
  search: true,
});

export const decideCommissionInput = z.object({ reason: storableText().trim().min(1).max(500).optional() });

/** The export's columns, in order (amount in decimal major units; times ISO 8601 UTC). */
export const COMMISSION_CSV_COLUMNS = [
  'id',
  'affiliate_id',
  'affiliate_email',
  'affiliate_name',
  'kind',
  'status',
  'amount',
  'currency',
  'rate_bps',
  'rule_id',
  'hold_reason',
  'reason',
  'conversion_id',
  'payout_id',
  'created_at',
  'payable_at',
  'approved_at',
  'paid_at',
] as const;

/** At most this many commissions in one bulk decision. */
export const BULK_DECISION_MAX = 100;

/** `POST /api/v1/commissions/bulk`: one decision for up to 100 commissions (duplicates count once). */
export const bulkDecisionInput = z.object({
  action: z.enum(['approve', 'reject']),
  ids: z.array(idText).min(1).max(BULK_DECISION_MAX),
  reason: storableText().trim().min(1).max(500).optional(),
});

/**
 * One commission's outcome in a bulk decision: `changed` (moved, `commission` is its new state), `unchanged`
 * (already in the asked status: a no-op, nothing written), or `error` (`error` says why: `not_found`,
 * `invalid_transition`, `in_payout`), in the order the ids were given.
 */
export interface BulkDecisionResult {
  id: string;
  outcome: 'changed' | 'unchanged' | 'error';
  commission: Commission | null;
  error: { code: string; message: string } | null;
}

export interface Commission {
  id: string;
  affiliateId: string;
  conversionId: string | null;
  kind: CommissionKind;
  amount: number;
  currency: string;
  rateBps: number | null;
  /** The rule that set the amount; null = the program's default rate. */
  ruleId: string | null;
  /**
   * Why the rules saw the sale as they did: `line_items_unavailable` (a Checkout sale whose line items could not
   * be read — no restricted key — so product / price rules could not match), `per_line_items` (each line matched
   * its own rule), or null.
   */
  ruleReason: string | null;
  /** The customer's payment month this commission is for (1 = first month); null for leads and clawbacks. */
  paymentMonth: number | null;
  status: CommissionStatus;
  /** Why it is `on_hold` (fraud check or dispute). */
  holdReason: string | null;
  payableAt: string;
  approvedAt: string | null;
  paidAt: string | null;
  payoutId: string | null;
  reason: string | null;
  createdAt: string;
}

export function toCommission(c: CommissionRow): Commission {
  return {
    id: c.id,
    affiliateId: c.affiliate_id,
    conversionId: c.conversion_id,
    kind: c.kind,
    amount: c.amount,
    currency: c.currency,
    rateBps: c.rate_bps,
    ruleId: c.rule_id,
    ruleReason: c.rule_reason,
    paymentMonth: c.payment_month,
    status: c.status,
    holdReason: c.hold_reason,
    payableAt: c.payable_at.toISOString(),
    approvedAt: c.approved_at?.toISOString() ?? null,
    paidAt: c.paid_at?.toISOString() ?? null,
    payoutId: c.payout_id,
    reason: c.reason,
    createdAt: c.created_at.toISOString(),
  };
}

/** One entry of a commission's history. */
export interface CommissionEvent {
  from: CommissionStatus | null;
  to: CommissionStatus;
  amount: number;
  actor: repo.CommissionActor;
  reason: string | null;
  at: string;
}

/** Extra facts about the sale that the rules engine may use. */
export interface CommissionContext {
  /** The sale's line items (Stripe product / price ids, and their amounts when known), for product and price rules. */
  lineItems?: readonly SaleLineItem[];
  /**
   * The sale had line items we could not read (a Checkout Session without `line_items` and no restricted key):
   * when the program has product / price rules, the commission says so (`rule_reason: line_items_unavailable`).
   */
  lineItemsUnavailable?: boolean;
}

/** Lower-case, without a `+tag` in the local part: `Jane+promo@X.com` and `jane@x.com` are one person. */
export function normalizeEmail(email: string): string {
  const [local = '', domain = ''] = email.trim().toLowerCase().split('@');
  return `${local.replace(/\+.*$/, '')}@${domain}`;
}

/**
 * The fraud checks a new commission must pass to stay `pending`; the first that fires is the hold reason:
 * - `self_referral_email`: the customer's e-mail is the affiliate's own (ignoring case and `+tags`);
 * - `self_referral_ip`: a click of the referral came from an IP the affiliate logged in from;
 * - `ip_conversion_limit`: more than `fraud_ip_daily_limit` conversions of this kind for the affiliate in the
 *   24 hours up to this one (itself included) came from the IP of the referral's last click: conversions recorded
 *   with that `click_ip` (first payments and leads only: renewals come from Stripe, not from a visitor).
 */
function fraudHoldReason(
  program: Pick<ProgramRow, 'fraud_ip_daily_limit'>,
  conversion: Pick<ConversionRow, 'referral_id' | 'customer_email'>,
  affiliateEmail: string | null,
  firstPayment: boolean,
  facts: { clickedFromLoginIp: boolean; conversionsFromIp: number },
): string | null {
  if (
    conversion.customer_email &&
    affiliateEmail &&
    normalizeEmail(conversion.customer_email) === normalizeEmail(affiliateEmail)
  ) {
    return 'self_referral_email';
  }
  if (!conversion.referral_id) return null;
  if (facts.clickedFromLoginIp) return 'self_referral_ip';
  const limit = program.fraud_ip_daily_limit;
  if (limit !== null && limit !== undefined && firstPayment && facts.conversionsFromIp > limit)
    return 'ip_conversion_limit';
  return null;
}

/**
 * How far back the per-IP daily limit looks for `conversion`: set only when the program has a limit and the
 * conversion is a first payment or a lead (see `fraudHoldReason`); pass to `commissionFacts` / `insertConversionOnce`.
 */
export function commissionFactsOptions(
  program: Pick<ProgramRow, 'fraud_ip_daily_limit'>,
  conversion: Pick<ConversionRow, 'kind' | 'sequence' | 'occurred_at'>,
): { ipWindowFrom?: Date } {
  const limited =
    program.fraud_ip_daily_limit != null && (conversion.kind !== 'sale' || (conversion.sequence ?? 1) <= 1);
  return limited ? { ipWindowFrom: new Date(conversion.occurred_at.getTime() - DAY_MS) } : {};
}

/**
 * Create the commission a conversion earns, running the program's rules (`rules.ts`, first match wins, the
 * rule recorded as `rule_id`) and the fraud checks, and write its first history entry. Call inside the
 * transaction that inserted the conversion (`recordSale`, lead recording, `invoice.paid` renewals).
 *
 * - Sales: the payment month is counted from the customer's first sale (the earliest sale conversion of the
 *   same referral, else of the same Stripe subscription; see `rules.paymentMonth`), so renewals need nothing but
 *   their own conversion row. When that first sale is not on record (the customer was attributed later), the
 *   conversion's `sequence` (nth payment of its subscription, set by the Stripe handlers) stands in for the
 *   month. A later payment of a subscription is kind `recurring`.
 * - Leads (`conversion.kind = 'lead'`): a flat bounty from the first matching `lead` rule; none = no commission.
 * - The commission is payable after the program's hold period (days) from `occurred_at`.
 * - A non-approved affiliate's commission is recorded `rejected` (reason `affiliate_<status>`); a fraud check
 *   that fires records it `on_hold` with `hold_reason`.
 *
 * @param context line items for product / price rules (optional)
 * @param knownFacts the history facts when already read (`insertConversionOnce` with `facts`); else read here
 * @returns the commission row, or null when it earns nothing (zero amount, past its recurring months, no lead rule)
 */
export async function createCommissionForConversion(
  trx: DbOrTrx,
  program: Pick<ProgramRow, 'id' | 'default_rate_bps' | 'hold_days' | 'fraud_ip_daily_limit'>,
  conversion: Pick<
    ConversionRow,
    | 'id'
    | 'affiliate_id'
    | 'referral_id'
    | 'kind'
    | 'amount'
    | 'currency'
    | 'occurred_at'
    | 'customer_email'
    | 'stripe_subscription_id'
    | 'source'
    | 'sequence'
  >,
  affiliate: { status: string; email: string | null },
  context: CommissionContext = {},
  knownFacts?: repo.CommissionFacts,
): Promise<CommissionRow | null> {
  // Everything the rules and the fraud checks read from the history, in one round trip (or none: `recordSale`
  // reads them in the statement that inserts the conversion).
  const facts =
    knownFacts ??
    (await repo.commissionFacts(
      trx,
      { ...conversion, program_id: program.id },
      commissionFactsOptions(program, conversion),
    ));
  const firstPaidAt = facts.firstPaidAt;
  const sequence = conversion.kind === 'sale' ? Math.max(1, conversion.sequence ?? 1) : 1;
  const month = firstPaidAt ? paymentMonth(firstPaidAt, conversion.occurred_at) : sequence;
  const firstPayment = firstPaidAt === undefined && sequence === 1;
  const { outcome, rules: specs } = await evaluateProgramRules(trx, program, {
    kind: conversion.kind,
    affiliateId: conversion.affiliate_id,
    amount: conversion.amount,
    currency: conversion.currency,
    lineItems: context.lineItems ?? [],
    month,
    firstPayment,
  });
  if (outcome.amount <= 0) return null;
  const ruleReason = outcome.perLine
    ? 'per_line_items'
    : context.lineItemsUnavailable && specs.some((r) => r.stripeProductId !== null || r.stripePriceId !== null)
      ? 'line_items_unavailable'
      : null;

  const kind: CommissionKind =
    conversion.kind === 'lead' ? 'lead' : !firstPayment && conversion.stripe_subscription_id ? 'recurring' : 'sale';
  let status: CommissionStatus = 'pending';
  let reason: string | null = null;
  let holdReason: string | null = null;
  if (affiliate.status !== 'approved') {
    status = 'rejected';
    reason = `affiliate_${affiliate.status}`;
  } else {
    holdReason = fraudHoldReason(program, conversion, affiliate.email, firstPayment, facts);
    if (holdReason) status = 'on_hold';
  }
  const at = new Date();
  return repo.insertCommissionWithFirstEvent(
    trx,
    {
      id: newId('com'),
      program_id: program.id,
      affiliate_id: conversion.affiliate_id,
      conversion_id: conversion.id,
      amount: outcome.amount,
      currency: conversion.currency,
      kind,
      rate_bps: outcome.rateBps,
      rule_id: outcome.ruleId,
      rule_reason: ruleReason,
      payment_month: conversion.kind === 'sale' ? month : null,
      status,
      reason,
      hold_reason: holdReason,
      payable_at: new Date(conversion.occurred_at.getTime() + program.hold_days * DAY_MS),
    },
    {
      actor: conversion.source === 'stripe' ? 'stripe' : 'system',
      reason: [outcome.reason, `month:${month}`, ruleReason, holdReason ?? reason].filter(Boolean).join(' '),
      at,
    },
  );
}

export function createCommissionsService(deps: { db: Db; now?: () => Date }) {
  const { db } = deps;
  const now = deps.now ?? (() => new Date());

  /**
   * The merchant's decision rule (see `decide`), in one transaction with the commission's row locked.
   * @returns the row after the decision and whether it changed (false: it already had that status)
   * @throws NotFoundError; ConflictError `invalid_transition` / `in_payout`
   */
  function decideOne(
    program: ProgramRow,
    id: string,
    decision: 'approve' | 'reject',
    reason: string | undefined,
  ): Promise<{ row: CommissionRow; changed: boolean }> {
    const to: CommissionStatus = decision === 'approve' ? 'approved' : 'rejected';
    const allowed: CommissionStatus[] =
      decision === 'approve' ? ['pending', 'on_hold'] : ['pending', 'on_hold', 'approved'];
    return db.transaction().execute(async (trx) => {
      const c = await repo.lockCommission(trx, program.id, id);
      if (!c) throw new NotFoundError('Commission');
      if (c.status === to) return { row: c, changed: false };
      if (!allowed.includes(c.status) || c.amount < 0)
        throw new ConflictError(`Cannot ${decision} a ${c.status} commission`, 'invalid_transition');
      if (c.payout_id) throw new ConflictError('A payout covers this commission: fail the payout first', 'in_payout');
      const why = reason ?? (decision === 'reject' ? 'rejected_by_merchant' : 'approved_by_merchant');
      const row = await repo.transitionCommission(trx, c, to, {
        at: now(),
        actor: 'merchant',
        reason: why,
        patch: decision === 'reject' ? { reason: why } : {},
      });
      return { row, changed: true };
    });
  }

  return {
    async list(program: ProgramRow, query: unknown): Promise<Commission[]> {
      const q = parseInput(listCommissionsInput, query);
      return (await repo.listCommissions(db, program.id, q)).map(toCommission);
    },

    /**
     * Every commission matching the list's filters as CSV records, newest first, read in keyset pages of 500 as the
     * caller consumes them (the route streams them through csv-stringify, so a large program never sits in memory).
     * Amounts are decimal major units (`"19.99"`) with their currency; text cells a spreadsheet would run as a
     * formula get a leading `'`.
     * @returns the file name and the records, header first
     * @throws ValidationError (400) for a bad filter, before any record is read
     */
    exportCsv(program: ProgramRow, query: unknown): { filename: string; records: AsyncIterable<string[]> } {
      const filter = parseInput(exportCommissionsInput, query);
      async function* records(): AsyncGenerator<string[]> {
        yield [...COMMISSION_CSV_COLUMNS];
        let after: { createdAt: Date; id: string } | null = null;
        for (;;) {
          const page = await repo.exportCommissionsPage(db, program.id, filter, after, 500);
          for (const c of page) {
            const text = [c.id, c.affiliate_id, c.affiliate_email, c.affiliate_name].map(neutraliseFormula);
            yield [
              ...text,
              c.kind,
              c.status,
              toDecimalString(c.amount, c.currency),
              c.currency,
              c.rate_bps === null ? '' : String(c.rate_bps),
              c.rule_id ?? '',
              neutraliseFormula(c.hold_reason ?? ''),
              neutraliseFormula(c.reason ?? ''),
              c.conversion_id ?? '',
              c.payout_id ?? '',
              c.created_at.toISOString(),
              c.payable_at.toISOString(),
              c.approved_at?.toISOString() ?? '',
              c.paid_at?.toISOString() ?? '',
            ];
          }
          if (page.length < 500) return;
          const last = page[page.length - 1]!;
          after = { createdAt: last.created_at, id: last.id };
        }
      }
      return { filename: `commissions-${now().toISOString().slice(0, 10)}.csv`, records: records() };
    },

    /** @throws NotFoundError */
    async get(program: ProgramRow, id: string): Promise<Commission & { events: CommissionEvent[] }> {
      const c = await repo.findCommission(db, program.id, id);
      if (!c) throw new NotFoundError('Commission');
      const events = await repo.listCommissionEvents(db, program.id, id);
      return {
        ...toCommission(c),
        events: events.map((e) => ({
          from: e.from_status,
          to: e.to_status,
          amount: e.amount,
          actor: e.actor,
          reason: e.reason,
          at: e.created_at.toISOString(),
        })),
      };
    },

    /**
     * Approve pending commissions whose hold period has ended (the `approve-commissions` job).
     * @param opts.skipHold approve every pending commission now (demo, manual runs)
     * @returns how many were approved
     */
    approveDue(opts: { programId?: string; skipHold?: boolean } = {}): Promise<number> {
      return repo.approveDue(db, now(), opts);
    },

    /**
     * The same decision on up to 100 commissions (`POST /api/v1/commissions/bulk`, the console's bulk buttons):
     * each goes through `decideOne`, the rule the single routes use, in its own transaction with its row locked,
     * so one refused commission does not undo the others and two bulk requests at once write each change once.
     * @returns one result per distinct id, in the order given
     * @throws ValidationError (400) for a bad body, more than 100 ids
     */
    async decideMany(program: ProgramRow, input: unknown): Promise<BulkDecisionResult[]> {
      const { action, ids, reason } = parseInput(bulkDecisionInput, input);
      const results: BulkDecisionResult[] = [];
      for (const id of new Set(ids)) {
        try {
          const { row, changed } = await decideOne(program, id, action, reason);
          results.push({ id, outcome: changed ? 'changed' : 'unchanged', commission: toCommission(row), error: null });
        } catch (err) {
          if (!(err instanceof AppError) || err.status >= 500) throw err;
          results.push({ id, outcome: 'error', commission: null, error: { code: err.code, message: err.message } });
        }
      }
      return results;
    },

    /**
     * Merchant decision on one commission: approve (`pending`/`on_hold` → `approved`, even before the hold period
     * ends: the merchant vouches for it) or reject (`pending`/`on_hold`/`approved` → `rejected`; not once a payout
     * covers it). The same decision again is a no-op. Recorded in the history with actor `merchant`.
     * @throws NotFoundError; ConflictError `invalid_transition` / `in_payout`
     */
    async decide(
      program: ProgramRow,
      id: string,
      decision: 'approve' | 'reject',
      input: unknown = {},
    ): Promise<Commission> {
      const { reason } = parseInput(decideCommissionInput, input ?? {});
      return toCommission((await decideOne(program, id, decision, reason)).row);
    },
  };
}
export type CommissionsService = ReturnType<typeof createCommissionsService>;
