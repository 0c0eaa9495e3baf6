/**
 * Pay all due: one action (`POST /api/v1/payouts/pay-all`, `npm run cli -- payouts pay-all`) that creates every due
 * payout of a program and pays what can be paid at once.
 *
 * 1. Create: for each affiliate and currency with a positive balance, one payout of the whole balance by the
 *    method on file (`PayoutsService.settleDue`: the scheduled run's rules, minimum payout included; refusals are
 *    reported with their code). A `stripe_connect` affiliate is first checked with Stripe (`connect-accounts.ts`):
 *    an account that is missing or not ready gets no payout, so the balance stays for the next run.
 * 2. Pay by Stripe: every open `stripe_connect` payout of the program (this run's, and earlier pending or
 *    processing ones: a retry) goes through `PayoutsService.process`: one transfer per payout, its id as
 *    `Idempotency-Key`. A refusal fails that payout with Stripe's message and its commissions return to the
 *    balance (`payout-failure.ts`); an unknown outcome (5xx, timeout) leaves it `processing` for the next run,
 *    which finds the transfer by `transfer_group` before making one. The others of the run go on either way.
 * 3. Export: this run's PayPal and bank-transfer payouts become `processing`, and the answer names the
 *    PayPal Payouts / Wise CSV of this run (`GET /api/v1/payouts/export?…&batchId=`). Store-credit and check
 *    payouts stay `pending` (paid by hand).
 *
 * Safe to run twice and from several instances at once: one run per program at a time (a PostgreSQL advisory lock;
 * a second run meanwhile is refused with 409 `pay_all_running`), and beneath it the payout row locks and the
 * per-payout idempotency key of `process`, so a payout never gets two transfers. A second run finds nothing new:
 * the balances are in payouts already.
 */
import { sql } from 'kysely';
import { z } from 'zod';
import type { Db } from '../db/database.ts';
import type { ProgramRow } from '../db/schema.ts';
import { AppError, ConflictError } from '../lib/errors.ts';
import { newId } from '../lib/ids.ts';
import { currencyCode } from '../lib/schemas.ts';
import { parseInput } from '../lib/validate.ts';
import { findAffiliateById } from '../affiliates/affiliates.repository.ts';
import type { ProgramSecrets } from '../programs/program-secrets.ts';
import type { StripeEndpoint } from '../stripe/stripe-api.ts';
import { accountReadiness, type AccountReadiness } from './connect-accounts.ts';
import { toPayout, type Payout, type PayoutsService } from './payouts.service.ts';
import * as repo from './payouts.repository.ts';
import { stripeClient } from './stripe-transfers.ts';

export const payAllInput = z
  .object({
    /** Only this currency (default: every currency). */
    currency: currencyCode.optional(),
    /** Apply every rule and ask Stripe whether accounts are ready, but create, send and change nothing. */
    dryRun: z.boolean().default(false),
  })
  .strict();

/** One payout of the run. Amount in minor units of `currency`; `payoutId` is null in a dry run. */
export interface PayAllLine {
  payoutId: string | null;
  affiliateId: string;
  amount: number;
  currency: string;
  method: Payout['method'];
  /** `paid`: the Stripe transfer id. */
  transferId?: string;
}

/** Who could not be paid, and why (`reason` is a stable code, `message` says it in words). */
export interface NotPaid {
  affiliateId: string;
  currency: string;
  /** The balance, or the payout's amount when one exists (minor units). */
  amount: number;
  /** Set when a payout exists (failed, or still processing after an unknown Stripe outcome). */
  payoutId: string | null;
  reason: string;
  message: string;
}

export interface PayAllResult {
  /** This run's batch (`batch_id` of the payouts it created). */
  batchId: string;
  dryRun: boolean;
  /** Paid by a Stripe transfer (completed). */
  paid: PayAllLine[];
  /** PayPal / bank-transfer payouts now `processing`, in this run's payment files. */
  exported: PayAllLine[];
  /** The payment files of this run: admin API paths (same API key). */
  exports: { format: 'paypal' | 'wise'; currency: string | null; count: number; url: string }[];
  /** Store-credit and check payouts created `pending`: the merchant pays and completes them by hand. */
  manual: PayAllLine[];
  notPaid: NotPaid[];
}

const line = (p: Payout, transferId?: string): PayAllLine => ({
  payoutId: p.id,
  affiliateId: p.affiliateId,
  amount: p.amount,
  currency: p.currency,
  method: p.method,
  ...(transferId ? { transferId } : {}),
});

/** Balances that are not "due" (nothing to pay) are not worth a line in the answer. */
const SILENT_REFUSALS = new Set(['nothing_to_pay']);

export function createPayAllService(deps: {
  db: Db;
  payouts: PayoutsService;
  programSecrets: ProgramSecrets;
  stripeEndpoint?: StripeEndpoint;
}) {
  const { db, payouts } = deps;

  /**
   * Run `fn` holding the program's pay-all lock (a session advisory lock on a connection of its own).
   * @throws ConflictError `pay_all_running` when another run of the program holds it
   */
  async function exclusive<T>(programId: string, fn: () => Promise<T>): Promise<T> {
    return db.connection().execute(async (conn) => {
      const key = sql`hashtextextended(${`partnerkit:pay-all:${programId}`}, 0)`;
      const { rows } = await sql<{ locked: boolean }>`SELECT pg_try_advisory_lock(${key}) AS locked`.execute(conn);
      if (!rows[0]?.locked)
        throw new ConflictError(
          'Another pay-all of this program is running; try again when it ends',
          'pay_all_running',
        );
      try {
        return await fn();
      } finally {
        await sql`SELECT pg_advisory_unlock(${key})`.execute(conn);
      }
    });
  }

  return {
    /**
     * Create every due payout of `program` and pay it: Stripe transfers for `stripe_connect`, payment files for
     * PayPal / bank transfer (see the module comment).
     * @param input `{ currency?, dryRun? }`
     * @returns paid, exported (with the files' URLs), manual, and who was not paid with a reason each
     * @throws ValidationError; ConflictError `pay_all_running`
     */
    async payAll(program: ProgramRow, input: unknown = {}): Promise<PayAllResult> {
      const { currency, dryRun } = parseInput(payAllInput, input ?? {});
      const key = deps.programSecrets.apiKey(program);
      const stripe = key ? stripeClient(key, deps.stripeEndpoint) : null;
      const checked = new Map<string, Promise<AccountReadiness>>();
      const readiness = (accountId: string): Promise<AccountReadiness> => {
        if (!stripe)
          return Promise.resolve({
            ready: false,
            reason: 'stripe_not_configured',
            message: 'Set the program’s Stripe API key first (PATCH /api/v1/program)',
          });
        const known = checked.get(accountId);
        if (known) return known;
        const asked = accountReadiness(stripe, accountId);
        checked.set(accountId, asked);
        return asked;
      };

      return exclusive(program.id, async () => {
        const batchId = newId('pob');
        const result: PayAllResult = { batchId, dryRun, paid: [], exported: [], exports: [], manual: [], notPaid: [] };
        const created: Payout[] = [];

        for (const b of await repo.balances(db, program.id, { currency })) {
          if (b.balance <= 0) continue;
          const notPaid = (reason: string, message: string) =>
            result.notPaid.push({
              affiliateId: b.affiliate_id,
              currency: b.currency,
              amount: b.balance,
              payoutId: null,
              reason,
              message,
            });
          const affiliate = await findAffiliateById(db, b.affiliate_id);
          const accountId =
            affiliate?.payout_method === 'stripe_connect' ? affiliate.payout_details?.accountId : undefined;
          if (accountId) {
            const ready = await readiness(accountId);
            if (!ready.ready) {
              notPaid(ready.reason, ready.message);
              continue;
            }
          }
          const settled = await payouts.settleDue(program, b.affiliate_id, b.currency, { batchId, dryRun });
          if ('refused' in settled) {
            if (!SILENT_REFUSALS.has(settled.refused)) notPaid(settled.refused, settled.message);
            continue;
          }
          created.push(settled.payout);
        }

        if (dryRun) {
          for (const p of created) {
            const l = { ...line(p), payoutId: null };
            if (p.method === 'stripe_connect') result.paid.push(l);
            else if (p.method === 'paypal' || p.method === 'bank_transfer') result.exported.push(l);
            else result.manual.push(l);
          }
          return result;
        }

        for (const row of await repo.openStripePayouts(db, program.id, currency)) {
          const p = toPayout(row);
          const notPaid = (reason: string, message: string, payoutId: string | null = p.id) =>
            result.notPaid.push({
              affiliateId: p.affiliateId,
              currency: p.currency,
              amount: p.amount,
              payoutId,
              reason,
              message,
            });
          const accountId = p.methodDetails?.accountId;
          if (accountId) {
            const ready = await readiness(accountId);
            if (!ready.ready) {
              notPaid(ready.reason, ready.message);
              continue;
            }
          }
          try {
            const done = await payouts.process(program, p.id);
            if (done.status === 'completed') result.paid.push(line(done, done.stripeTransferId ?? undefined));
            else if (done.status === 'failed')
              notPaid('transfer_failed', done.failureReason ?? 'Stripe refused the transfer');
            else notPaid('stripe_unavailable', 'The transfer outcome is unknown; the next run retries it');
          } catch (err) {
            if (!(err instanceof AppError)) throw err;
            notPaid(err.code, err.message);
          }
        }

        for (const p of created) {
          if (p.method === 'stripe_connect') continue;
          if (p.method !== 'paypal' && p.method !== 'bank_transfer') {
            result.manual.push(line(p));
            continue;
          }
          result.exported.push(line(await payouts.process(program, p.id)));
        }
        result.exports = exportFiles(batchId, result.exported);
        return result;
      });
    },
  };
}
export type PayAllService = ReturnType<typeof createPayAllService>;

/** The payment files of a run: one PayPal file per currency (PayPal's rule), one Wise file. */
function exportFiles(batchId: string, exported: readonly PayAllLine[]): PayAllResult['exports'] {
  const files: PayAllResult['exports'] = [];
  const paypal = new Map<string, number>();
  let wise = 0;
  for (const e of exported) {
    if (e.method === 'paypal') paypal.set(e.currency, (paypal.get(e.currency) ?? 0) + 1);
    else wise++;
  }
  const base = `/api/v1/payouts/export?status=processing&batchId=${batchId}`;
  for (const [c, count] of [...paypal].sort()) {
    files.push({ format: 'paypal', currency: c, count, url: `${base}&format=paypal&currency=${c}` });
  }
  if (wise) files.push({ format: 'wise', currency: null, count: wise, url: `${base}&format=wise` });
  return files;
}
