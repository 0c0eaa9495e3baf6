/**
 * Payouts: one payment to an affiliate in one currency that settles approved commissions and nets outstanding
 * clawbacks. States `pending → processing → completed`, or `failed` (its commissions go back to the balance).
 *
 * Never more than is owed, never a commission twice: a payout is created in one transaction that first locks
 * the affiliate row (`FOR UPDATE`: creations for one affiliate queue behind each other, whoever asks: the
 * scheduled job on any worker, the merchant, the affiliate), then locks the unsettled commissions, computes the
 * balance from them, and points them at the payout (`payout_id IS NULL` guard). Scheduled runs also carry an
 * idempotency key per schedule occurrence (unique per affiliate and currency).
 *
 * Balance, per affiliate and currency: approved commissions not yet in a payout + outstanding clawbacks
 * (negative). It is what a payout may take, at most.
 */
import { z } from 'zod';
import { CronExpressionParser } from 'cron-parser';
import type { Db, DbOrTrx } from '../db/database.ts';
import type { AffiliateRow, PayoutMethod, PayoutRow, PayoutStatus, ProgramRow } from '../db/schema.ts';
import { AppError, ConflictError, NotFoundError, UnprocessableError } from '../lib/errors.ts';
import { newId } from '../lib/ids.ts';
import { idFilter, idText, parseInput, storableText } from '../lib/validate.ts';
import { currencyExponent } from '../commissions/money.ts';
import { findAffiliateById } from '../affiliates/affiliates.repository.ts';
import { findProgramById } from '../programs/programs.repository.ts';
import { paypalPayoutsCsv, wiseBatchCsv, type ExportRow } from './payout-exports.ts';
import type { StripeEndpoint } from '../stripe/stripe-api.ts';
import { sendTransfer, stripeClient } from './stripe-transfers.ts';
import * as repo from './payouts.repository.ts';
import { failLockedPayout, returnToBalance } from './payout-failure.ts';
import type { ProgramSecrets } from '../programs/program-secrets.ts';
import { lockAffiliate } from '../affiliates/affiliates.repository.ts';
import { silentLogger, type Logger } from '../lib/logger.ts';
import { currencyCode } from '../lib/schemas.ts';

const PAYOUT_METHODS = ['paypal', 'bank_transfer', 'store_credit', 'check', 'stripe_connect'] as const;

export const createPayoutInput = z
  .object({
    affiliateId: idText,
    currency: currencyCode.optional(),
    /** Minor units; default: the whole balance. Commissions settle whole, so it must be reachable exactly. */
    amount: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
    /** Default: the affiliate's payout method on file. */
    method: z.enum(PAYOUT_METHODS).optional(),
  })
  .strict();

export const requestPayoutInput = z.object({ currency: currencyCode.optional() }).strict();
export const completePayoutInput = z.object({ reference: storableText().trim().min(1).max(255) }).strict();
export const failPayoutInput = z.object({ reason: storableText().trim().min(1).max(500) }).strict();

export const listPayoutsInput = z.object({
  status: z.enum(['pending', 'processing', 'completed', 'failed']).optional(),
  affiliateId: idFilter,
  batchId: idFilter,
  currency: currencyCode.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

export const balancesInput = z.object({
  affiliateId: idFilter,
  currency: currencyCode.optional(),
});

export const exportPayoutsInput = z.object({
  format: z.enum(['paypal', 'wise']),
  batchId: idFilter,
  currency: currencyCode.optional(),
  status: z.enum(['pending', 'processing']).default('pending'),
});

/** The public shape of a payout. Amount in minor units of `currency`. */
export interface Payout {
  id: string;
  affiliateId: string;
  amount: number;
  currency: string;
  status: PayoutStatus;
  method: PayoutMethod;
  methodDetails: Record<string, string> | null;
  reference: string | null;
  failureReason: string | null;
  batchId: string | null;
  requestedBy: 'system' | 'merchant' | 'affiliate';
  stripeTransferId: string | null;
  createdAt: string;
  processingAt: string | null;
  completedAt: string | null;
  failedAt: string | null;
}

export function toPayout(p: PayoutRow): Payout {
  return {
    id: p.id,
    affiliateId: p.affiliate_id,
    amount: p.amount,
    currency: p.currency,
    status: p.status,
    method: p.method,
    methodDetails: p.method_details,
    reference: p.reference,
    failureReason: p.failure_reason,
    batchId: p.batch_id,
    requestedBy: p.requested_by,
    stripeTransferId: p.stripe_transfer_id,
    createdAt: p.created_at.toISOString(),
    processingAt: p.processing_at?.toISOString() ?? null,
    completedAt: p.completed_at?.toISOString() ?? null,
    failedAt: p.failed_at?.toISOString() ?? null,
  };
}

/** Per affiliate and currency, minor units. `balance` is what a payout may take now. */
export interface Balance {
  affiliateId: string;
  currency: string;
  /** Waiting for the hold period. */
  pending: number;
  /** Held by a fraud check or dispute. */
  onHold: number;
  /** Approved, not in a payout yet. */
  approved: number;
  /** Outstanding clawbacks (≤ 0), netted into the next payout. */
  clawbacks: number;
  /** In open (pending / processing) payouts. */
  inPayouts: number;
  paid: number;
  /** `approved + clawbacks`. */
  balance: number;
}

function toBalance(b: repo.BalanceRow): Balance {
  return {
    affiliateId: b.affiliate_id,
    currency: b.currency,
    pending: b.pending,
    onHold: b.on_hold,
    approved: b.approved,
    clawbacks: b.clawbacks,
    inPayouts: b.in_payouts,
    paid: b.paid,
    balance: b.balance,
  };
}

/**
 * The minimum payout in `currency`, minor units: the program's `min_payout_amount` (set in its own currency),
 * carried to other currencies by their number of decimals only (50.00 usd → 50 jpy, 50.00 eur): no exchange
 * rates, a floor against paying out crumbs.
 */
export function minimumPayout(program: Pick<ProgramRow, 'min_payout_amount' | 'currency'>, currency: string): number {
  const shift = currencyExponent(currency) - currencyExponent(program.currency);
  return shift >= 0 ? program.min_payout_amount * 10 ** shift : Math.ceil(program.min_payout_amount / 10 ** -shift);
}

/**
 * The schedule occurrence a program's payouts are due for at `at`, or null: the last cron occurrence (UTC) at
 * or before `at`, unless it came before the program existed or was already paid out.
 * @throws Error from cron-parser when the stored schedule is invalid (it is validated on write)
 */
export function duePayoutOccurrence(
  program: Pick<ProgramRow, 'payout_schedule' | 'payouts_generated_for' | 'created_at'>,
  at: Date,
): Date | null {
  const prev = CronExpressionParser.parse(program.payout_schedule, { currentDate: at, tz: 'UTC' }).prev().toDate();
  if (prev < program.created_at) return null;
  if (program.payouts_generated_for && program.payouts_generated_for >= prev) return null;
  return prev;
}

/** Why a settlement made no payout (the HTTP paths turn it into a 4xx, the job skips). */
type SettleRefusal =
  | 'nothing_to_pay'
  | 'below_minimum'
  | 'insufficient_balance'
  | 'amount_not_settleable'
  | 'no_payout_method'
  | 'no_payout_details'
  | 'payout_open'
  | 'affiliate_not_approved'
  | 'duplicate';

interface SettleOptions {
  currency: string;
  /** Exact amount wanted; undefined = the whole balance. */
  amount?: number;
  /** Refuse below this (minor units). */
  minimum?: number;
  method?: PayoutMethod;
  requestedBy: 'system' | 'merchant' | 'affiliate';
  idempotencyKey?: string;
  batchId?: string;
  /** Refuse when the affiliate already has an open payout in this currency. */
  oneOpenAtATime?: boolean;
  /** Refuse unless the affiliate is approved (scheduled runs and requests; the merchant may pay anyone). */
  requireApproved?: boolean;
}

/** Method and the details to pay with (a snapshot: later edits of the affiliate's settings do not move money). */
function payoutMethodFor(
  affiliate: AffiliateRow,
  wanted?: PayoutMethod,
): { method: PayoutMethod; details: Record<string, string> | null } | SettleRefusal {
  const method = wanted ?? affiliate.payout_method ?? undefined;
  if (!method) return 'no_payout_method';
  if (method === 'store_credit' || method === 'check') return { method, details: null };
  if (affiliate.payout_method === method && affiliate.payout_details)
    return { method, details: affiliate.payout_details };
  if (method === 'paypal') return { method, details: { email: affiliate.email } };
  return 'no_payout_details';
}

const REFUSALS: Record<SettleRefusal, (balance: number, nearest: number) => AppError> = {
  nothing_to_pay: () => new UnprocessableError('The balance is zero: nothing to pay', 'nothing_to_pay'),
  below_minimum: (b) => new UnprocessableError(`The balance (${b}) is below the minimum payout`, 'below_minimum'),
  insufficient_balance: (b) => new UnprocessableError(`The amount exceeds the balance (${b})`, 'insufficient_balance'),
  amount_not_settleable: (_b, n) =>
    new UnprocessableError(
      `Commissions settle whole: the nearest payable amount not above it is ${n}`,
      'amount_not_settleable',
    ),
  no_payout_method: () => new UnprocessableError('The affiliate has no payout method on file', 'no_payout_method'),
  no_payout_details: () =>
    new UnprocessableError('The affiliate has no details on file for this payout method', 'no_payout_details'),
  payout_open: () => new ConflictError('A payout in this currency is already open', 'payout_open'),
  affiliate_not_approved: () =>
    new UnprocessableError('Only approved affiliates are paid out', 'affiliate_not_approved'),
  duplicate: () => new ConflictError('This payout was already created', 'duplicate_payout'),
};

export function createPayoutsService(deps: {
  db: Db;
  now?: () => Date;
  stripeEndpoint?: StripeEndpoint;
  logger?: Logger;
  /** Opens the program's stored (encrypted) Stripe API key for Connect transfers. */
  programSecrets: ProgramSecrets;
}) {
  const { db } = deps;
  const now = deps.now ?? (() => new Date());
  const logger = deps.logger ?? silentLogger;

  /**
   * Create one payout for a (locked) affiliate and currency from its unsettled commissions, inside `trx`.
   * Clawbacks are always netted; positive commissions are taken oldest first.
   */
  async function settle(
    trx: DbOrTrx,
    program: ProgramRow,
    affiliate: AffiliateRow,
    o: SettleOptions,
  ): Promise<{ payout: PayoutRow } | { refused: SettleRefusal; balance: number; nearest: number }> {
    const refuse = (refused: SettleRefusal, balance = 0, nearest = 0) => ({ refused, balance, nearest });
    if (o.requireApproved && affiliate.status !== 'approved') return refuse('affiliate_not_approved');
    if (o.idempotencyKey && (await repo.findPayoutByKey(trx, program.id, affiliate.id, o.currency, o.idempotencyKey)))
      return refuse('duplicate');
    if (o.oneOpenAtATime && (await repo.countOpenPayouts(trx, program.id, affiliate.id, o.currency)).n > 0)
      return refuse('payout_open');
    const rows = await repo.lockUnsettled(trx, program.id, affiliate.id, o.currency);
    const clawbacks = rows.filter((r) => r.amount < 0);
    const credits = rows.filter((r) => r.amount >= 0 && r.status === 'approved');
    const balance = rows.reduce((s, r) => s + r.amount, 0);
    let chosen = rows;
    let total = balance;
    if (o.amount !== undefined) {
      if (o.amount > balance) return refuse('insufficient_balance', balance);
      chosen = [...clawbacks];
      total = clawbacks.reduce((s, r) => s + r.amount, 0);
      for (const c of credits) {
        if (total + c.amount > o.amount) continue;
        chosen.push(c);
        total += c.amount;
      }
      if (total !== o.amount) return refuse('amount_not_settleable', balance, total);
    }
    if (total <= 0) return refuse('nothing_to_pay', balance);
    if (o.minimum !== undefined && total < o.minimum) return refuse('below_minimum', balance);
    const how = payoutMethodFor(affiliate, o.method);
    if (typeof how === 'string') return refuse(how, balance);

    const at = now();
    const payout = await repo.insertPayout(trx, {
      id: newId('po'),
      program_id: program.id,
      affiliate_id: affiliate.id,
      amount: total,
      currency: o.currency,
      status: 'pending',
      method: how.method,
      method_details: how.details ? JSON.stringify(how.details) : null,
      requested_by: o.requestedBy,
      idempotency_key: o.idempotencyKey ?? null,
      batch_id: o.batchId ?? null,
      created_at: at,
    });
    if (!payout) return refuse('duplicate');
    const attached = await repo.attachCommissions(
      trx,
      payout.id,
      chosen.map((c) => c.id),
      at,
    );
    // Under the affiliate lock nothing else can take them; if it ever did, roll the whole payout back.
    if (attached.length !== chosen.length)
      throw new ConflictError('Commissions changed while paying them; retry', 'concurrent_change');
    await repo.insertPayoutItems(
      trx,
      chosen.map((c) => ({ payout_id: payout.id, commission_id: c.id, amount: c.amount })),
    );
    await repo.insertCommissionEvents(
      trx,
      chosen.map((c) => ({
        commission_id: c.id,
        program_id: program.id,
        from_status: c.status,
        to_status: c.status,
        amount: c.amount,
        actor: o.requestedBy,
        reason: `in_payout:${payout.id}`,
        created_at: at,
      })),
    );
    return { payout };
  }

  /** Settle in its own transaction behind the affiliate lock. */
  async function settleLocked(program: ProgramRow, affiliateId: string, o: SettleOptions) {
    return db.transaction().execute(async (trx) => {
      // Every payout creation of one affiliate runs one at a time behind this lock.
      const affiliate = await lockAffiliate(trx, program.id, affiliateId);
      if (!affiliate) throw new NotFoundError('Affiliate');
      return settle(trx, program, affiliate, o);
    });
  }

  function orThrow(result: Awaited<ReturnType<typeof settle>>): PayoutRow {
    if ('payout' in result) return result.payout;
    throw REFUSALS[result.refused](result.balance, result.nearest);
  }

  /** Move a locked payout's commissions to `paid` (complete) or back to the balance (fail), with history. */
  async function closeCommissions(
    trx: DbOrTrx,
    payout: PayoutRow,
    outcome: 'completed' | 'failed',
    actor: 'system' | 'merchant',
    why: string,
    at: Date,
  ) {
    const rows = await repo.lockPayoutCommissions(trx, payout.id);
    if (rows.length === 0) return;
    if (outcome === 'completed') {
      // Only live ones are paid; a commission reversed while its payout was open keeps its status.
      const payable = rows.filter((r) => r.status === 'approved' || r.status === 'pending');
      if (payable.length) {
        await trx
          .updateTable('commissions')
          .set({ status: 'paid', paid_at: at, updated_at: at })
          .where(
            'id',
            'in',
            payable.map((r) => r.id),
          )
          .execute();
      }
      await repo.insertCommissionEvents(
        trx,
        payable.map((c) => ({
          commission_id: c.id,
          program_id: c.program_id,
          from_status: c.status,
          to_status: 'paid' as const,
          amount: c.amount,
          actor,
          reason: why,
          created_at: at,
        })),
      );
    } else {
      await returnToBalance(trx, rows, actor, why, at);
    }
  }

  async function requireProgram(programId: string): Promise<ProgramRow> {
    const p = await findProgramById(db, programId);
    if (!p) throw new NotFoundError('Program');
    return p;
  }

  const service = {
    /** Balances per affiliate and currency (all of the program's affiliates, or one). */
    async balances(program: ProgramRow, query: unknown = {}): Promise<Balance[]> {
      const q = parseInput(balancesInput, query ?? {});
      return (await repo.balances(db, program.id, q)).map(toBalance);
    },

    /** One affiliate's balances, for the partner dashboard. @throws NotFoundError */
    async balancesForAffiliate(affiliateId: string): Promise<Balance[]> {
      const a = await findAffiliateById(db, affiliateId);
      if (!a) throw new NotFoundError('Affiliate');
      return (await repo.balances(db, a.program_id, { affiliateId })).map(toBalance);
    },

    async list(program: ProgramRow, query: unknown): Promise<Payout[]> {
      const q = parseInput(listPayoutsInput, query);
      return (await repo.listPayouts(db, program.id, q)).map(toPayout);
    },

    /** A payout with the commissions it covers (or covered, when it failed). @throws NotFoundError */
    async get(program: ProgramRow, id: string) {
      const p = await repo.findPayout(db, program.id, id);
      if (!p) throw new NotFoundError('Payout');
      const items = await repo.payoutItems(db, p.id);
      return {
        ...toPayout(p),
        commissions: items.map((i) => ({ id: i.commission_id, amount: i.amount, kind: i.kind, status: i.status })),
      };
    },

    /**
     * Merchant: pay an affiliate by hand: the whole balance in `currency` (default: the program's), or exactly
     * `amount` minor units (oldest commissions first; never above the balance). No minimum applies.
     * @throws ValidationError; NotFoundError; UnprocessableError `insufficient_balance` / `nothing_to_pay` /
     *   `amount_not_settleable` / `no_payout_method` / `no_payout_details`
     */
    async create(program: ProgramRow, input: unknown): Promise<Payout> {
      const data = parseInput(createPayoutInput, input);
      const result = await settleLocked(program, data.affiliateId, {
        currency: data.currency ?? program.currency,
        amount: data.amount,
        method: data.method,
        requestedBy: 'merchant',
      });
      return toPayout(orThrow(result));
    },

    /**
     * Affiliate: ask for a payout of the whole balance in `currency` (default: every currency whose balance
     * reaches the minimum). Needs an approved affiliate, a payout method on file, no open payout in that
     * currency, and a balance ≥ the minimum payout.
     * @returns the payouts created (at least one)
     * @throws NotFoundError; UnprocessableError `affiliate_not_approved` / `below_minimum` / `no_payout_method`...;
     *   ConflictError `payout_open`
     */
    async requestByAffiliate(affiliateId: string, input: unknown = {}): Promise<Payout[]> {
      const data = parseInput(requestPayoutInput, input ?? {});
      const affiliate = await findAffiliateById(db, affiliateId);
      if (!affiliate) throw new NotFoundError('Affiliate');
      if (affiliate.status !== 'approved')
        throw new UnprocessableError('Only approved affiliates can request payouts', 'affiliate_not_approved');
      const program = await requireProgram(affiliate.program_id);
      const currencies = data.currency
        ? [data.currency]
        : (await repo.balances(db, program.id, { affiliateId }))
            .filter((b) => b.balance >= minimumPayout(program, b.currency) && b.balance > 0)
            .map((b) => b.currency);
      if (currencies.length === 0) throw REFUSALS.below_minimum(0, 0);
      const created: Payout[] = [];
      for (const currency of currencies) {
        const result = await settleLocked(program, affiliateId, {
          currency,
          minimum: minimumPayout(program, currency),
          requestedBy: 'affiliate',
          oneOpenAtATime: true,
          requireApproved: true,
        });
        if ('payout' in result) created.push(toPayout(result.payout));
        else if (currencies.length === 1) orThrow(result);
      }
      if (created.length === 0) throw REFUSALS.below_minimum(0, 0);
      return created;
    },

    /**
     * The `generate-payouts` job: for each program whose payout schedule has a new occurrence (or every
     * program / the one given, with `force`), one payout per affiliate and currency whose balance reaches the
     * minimum, by the affiliate's payout method on file (affiliates without one, and affiliates not approved,
     * e.g. suspended, are skipped and keep their balance). Idempotent per schedule occurrence, and safe with several workers running it at once.
     * @returns how many payouts were created, and the batch ids (one per program run)
     */
    async generateDue(
      opts: { programId?: string; force?: boolean } = {},
    ): Promise<{ payouts: number; batches: string[] }> {
      const at = now();
      let payouts = 0;
      const batches: string[] = [];
      for (const program of await repo.listProgramsForPayouts(db, opts.programId)) {
        let occurrence: Date | null = null;
        try {
          occurrence = duePayoutOccurrence(program, at);
        } catch (err) {
          logger.error(
            { err, programId: program.id },
            `generate-payouts: program ${program.id} has an invalid payout schedule`,
          );
          continue;
        }
        if (!occurrence && !opts.force) continue;
        const batchId = newId('pob');
        let made = 0;
        for (const b of await repo.balances(db, program.id)) {
          const minimum = minimumPayout(program, b.currency);
          if (b.balance <= 0 || b.balance < minimum) continue;
          const result = await settleLocked(program, b.affiliate_id, {
            currency: b.currency,
            minimum,
            requestedBy: 'system',
            requireApproved: true,
            batchId,
            idempotencyKey: occurrence ? `schedule:${occurrence.toISOString()}` : undefined,
          });
          if ('payout' in result) made++;
        }
        if (occurrence) await repo.markPayoutsGenerated(db, program.id, occurrence);
        if (made > 0) batches.push(batchId);
        payouts += made;
      }
      return { payouts, batches };
    },

    /**
     * Pay all due (`pay-all.ts`), one affiliate and currency: a payout of the whole balance by the method on file,
     * under the scheduled run's rules (approved affiliate, minimum payout, a method and its details on file),
     * requested by the merchant, in `batchId`. `dryRun` applies the same rules and rolls the payout back.
     * @returns the payout (pending), or the refusal: its code (`below_minimum`, `no_payout_method`, …), message
     *   and the balance (minor units)
     * @throws NotFoundError (no such affiliate)
     */
    async settleDue(
      program: ProgramRow,
      affiliateId: string,
      currency: string,
      o: { batchId: string; dryRun?: boolean },
    ): Promise<{ payout: Payout } | { refused: string; message: string; balance: number }> {
      const options: SettleOptions = {
        currency,
        minimum: minimumPayout(program, currency),
        requestedBy: 'merchant',
        requireApproved: true,
        batchId: o.batchId,
      };
      let result: Awaited<ReturnType<typeof settle>> | undefined;
      const rollback = new Error('dry run');
      if (o.dryRun) {
        await db
          .transaction()
          .execute(async (trx) => {
            const affiliate = await lockAffiliate(trx, program.id, affiliateId);
            if (!affiliate) throw new NotFoundError('Affiliate');
            result = await settle(trx, program, affiliate, options);
            throw rollback;
          })
          .catch((err) => {
            if (err !== rollback) throw err;
          });
      } else result = await settleLocked(program, affiliateId, options);
      const r = result!;
      if ('payout' in r) return { payout: toPayout(r.payout) };
      const error = REFUSALS[r.refused](r.balance, r.nearest);
      return { refused: error.code, message: error.message, balance: r.balance };
    },

    /**
     * Start paying: `pending → processing`. For `stripe_connect`, makes the Stripe transfer and completes the
     * payout with the transfer id as reference (or fails it when Stripe refuses); calling it again on a
     * `processing` Stripe payout retries safely (same idempotency key, and an existing transfer is found first).
     * @throws NotFoundError; ConflictError `invalid_transition`; UnprocessableError `stripe_not_configured` /
     *   `no_connected_account`; AppError 502 `stripe_unavailable` (the payout stays `processing`)
     */
    async process(program: ProgramRow, id: string): Promise<Payout> {
      const started = await db.transaction().execute(async (trx) => {
        const p = await repo.lockPayout(trx, program.id, id);
        if (!p) throw new NotFoundError('Payout');
        const retry = p.status === 'processing' && p.method === 'stripe_connect';
        if (p.status !== 'pending' && !retry) {
          if (p.status === 'processing') return { payout: p, retry: false, done: true };
          throw new ConflictError(`Cannot process a ${p.status} payout`, 'invalid_transition');
        }
        if (p.method === 'stripe_connect') {
          if (!program.stripe_api_key)
            throw new UnprocessableError(
              'Set the program’s Stripe API key first (PATCH /api/v1/program)',
              'stripe_not_configured',
            );
          if (!p.method_details?.accountId)
            throw new UnprocessableError('The payout has no connected Stripe account', 'no_connected_account');
        }
        const row = retry ? p : await repo.updatePayout(trx, p.id, { status: 'processing', processing_at: now() });
        return { payout: row, retry, done: false };
      });
      if (started.done || started.payout.method !== 'stripe_connect') return toPayout(started.payout);

      const p = started.payout;
      const outcome = await sendTransfer(stripeClient(deps.programSecrets.apiKey(program)!, deps.stripeEndpoint), {
        payoutId: p.id,
        affiliateId: p.affiliate_id,
        amount: p.amount,
        currency: p.currency,
        destination: p.method_details!.accountId!,
        retry: started.retry,
      });
      if (outcome.status === 'unknown') {
        logger.warn(
          { payoutId: p.id, reason: outcome.reason },
          `payout ${p.id}: Stripe transfer outcome unknown (${outcome.reason}); it stays processing`,
        );
        throw new AppError(
          502,
          'stripe_unavailable',
          'Stripe did not answer; the payout stays processing: process it again later',
        );
      }
      if (outcome.status === 'refused') return service.fail(program, p.id, { reason: outcome.reason }, 'system');
      return service.complete(program, p.id, { reference: outcome.transferId }, 'system', outcome.transferId);
    },

    /**
     * The money has been sent: `pending`/`processing → completed` with the payment reference; its commissions
     * become `paid`. Completing again with the same reference returns the payout unchanged (a retry); with another
     * reference it is refused: the payout was paid once, under the first reference.
     * @throws NotFoundError; ConflictError `invalid_transition` (failed payouts), `already_completed` (completed
     *   with another reference)
     */
    async complete(
      program: ProgramRow,
      id: string,
      input: unknown,
      actor: 'system' | 'merchant' = 'merchant',
      stripeTransferId?: string,
    ): Promise<Payout> {
      const { reference } = parseInput(completePayoutInput, input);
      const row = await db.transaction().execute(async (trx) => {
        const p = await repo.lockPayout(trx, program.id, id);
        if (!p) throw new NotFoundError('Payout');
        if (p.status === 'completed') {
          if (p.reference === reference) return p;
          throw new ConflictError(
            `This payout was already completed with another reference (${p.reference})`,
            'already_completed',
          );
        }
        if (p.status === 'failed') throw new ConflictError('Cannot complete a failed payout', 'invalid_transition');
        const at = now();
        const done = await repo.updatePayout(trx, p.id, {
          status: 'completed',
          reference,
          completed_at: at,
          ...(stripeTransferId ? { stripe_transfer_id: stripeTransferId } : {}),
        });
        await closeCommissions(trx, p, 'completed', actor, `payout_completed:${p.id}`, at);
        return done;
      });
      return toPayout(row);
    },

    /**
     * The payment did not happen: `pending`/`processing → failed` with the reason; its commissions return to the
     * balance (`approved`, no payout) for the next payout. Failing again returns the payout unchanged.
     * @throws NotFoundError; ConflictError `invalid_transition` (completed payouts)
     */
    async fail(
      program: ProgramRow,
      id: string,
      input: unknown,
      actor: 'system' | 'merchant' = 'merchant',
    ): Promise<Payout> {
      const { reason } = parseInput(failPayoutInput, input);
      const row = await db.transaction().execute(async (trx) => {
        const p = await repo.lockPayout(trx, program.id, id);
        if (!p) throw new NotFoundError('Payout');
        if (p.status === 'failed') return p;
        if (p.status === 'completed') throw new ConflictError('Cannot fail a completed payout', 'invalid_transition');
        return failLockedPayout(trx, p, reason, actor, now());
      });
      return toPayout(row);
    },

    /**
     * A payment file for open payouts (default `pending`) of one batch or all: PayPal Payouts CSV (`paypal`
     * payouts, one currency per file) or Wise batch CSV (`bank_transfer` payouts). Read-only.
     * @returns the file name and CSV text
     * @throws ValidationError; UnprocessableError `mixed_currencies` (PayPal without `currency`)
     */
    async exportCsv(program: ProgramRow, query: unknown): Promise<{ filename: string; csv: string; count: number }> {
      const q = parseInput(exportPayoutsInput, query);
      const method: PayoutMethod = q.format === 'paypal' ? 'paypal' : 'bank_transfer';
      // 5 000 rows: the most one PayPal Payouts file takes.
      const rows = await repo.listPayouts(db, program.id, {
        status: q.status,
        batchId: q.batchId,
        currency: q.currency,
        method,
        limit: 5000,
        offset: 0,
      });
      const currencies = new Set(rows.map((r) => r.currency));
      if (q.format === 'paypal' && currencies.size > 1) {
        throw new UnprocessableError(
          `PayPal takes one currency per file: add currency= (one of ${[...currencies].join(', ')})`,
          'mixed_currencies',
        );
      }
      const exportRows: ExportRow[] = rows
        .slice()
        .reverse()
        .map((r) => ({
          payoutId: r.id,
          amount: r.amount,
          currency: r.currency,
          affiliateName: r.affiliate_name,
          affiliateEmail: r.affiliate_email,
          details: r.method_details,
          note: `${program.name}: commission payout ${r.id}`,
        }));
      const csv = q.format === 'paypal' ? paypalPayoutsCsv(exportRows) : wiseBatchCsv(exportRows);
      const suffix = [q.batchId, q.currency].filter(Boolean).join('-') || q.status;
      return { filename: `payouts-${q.format}-${suffix}.csv`, csv, count: rows.length };
    },
  };
  return service;
}
export type PayoutsService = ReturnType<typeof createPayoutsService>;
