/**
 * Conversions: paid sales (or leads) attributed to a referral, each counted once per external payment id.
 *
 * - `recordSale` is the one way a sale enters (Stripe handlers and the conversions API): a conversion row, once
 *   per payment (unique keys per program), then its commission through the rules engine
 *   (`createCommissionForConversion`).
 * - `POST /api/v1/conversions` (`create`): for merchants who bill elsewhere, a sale or a lead by referral id,
 *   affiliate code or customer e-mail, made idempotent by the `Idempotency-Key` header.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Db, DbOrTrx } from '../db/database.ts';
import type { CommissionRow, ConversionRow, ProgramRow, ReferralRow } from '../db/schema.ts';
import { ConflictError, NotFoundError, UnprocessableError, ValidationError } from '../lib/errors.ts';
import { newId } from '../lib/ids.ts';
import { idFilter, parseInput, storableText } from '../lib/validate.ts';
import {
  commissionFactsOptions,
  createCommissionForConversion,
  type SaleLineItem,
} from '../commissions/commissions.service.ts';
import { toCommissionFacts } from '../commissions/commissions.repository.ts';
import { findAffiliateById, findAffiliateByCode } from '../affiliates/affiliates.repository.ts';
import * as repo from './conversions.repository.ts';
import * as referrals from './referrals-lookup.repository.ts';
import { currencyCode } from '../lib/schemas.ts';

/** Referral ids are valid Stripe `client_reference_id` values (ARCHITECTURE.md). */
export const REFERRAL_ID = /^[A-Za-z0-9_-]{1,200}$/;

export const listConversionsInput = z.object({
  affiliateId: idFilter,
  limit: z.coerce.number().int().min(1).max(500).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

export const createConversionInput = z.strictObject({
  type: z.enum(['sale', 'lead']).default('sale'),
  /** A referral id the snippet handed out (`partnerkit.referral`). */
  referral: z.string().regex(REFERRAL_ID, 'must be a referral id').optional(),
  /** An affiliate's code: the sale is theirs (a referral is created for the customer). */
  affiliateCode: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be an affiliate code')
    .optional(),
  /** The customer's e-mail: matched against leads and customers within the attribution window. */
  customerEmail: z.email().max(320).optional(),
  /** Minor units paid, excluding tax (sales). */
  amount: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  currency: currencyCode.optional(),
  /** Your id of the payment; a second conversion with the same id is the same conversion. */
  externalId: storableText().trim().min(1).max(255).optional(),
  occurredAt: z.iso.datetime({ offset: true }).optional(),
});

export const idempotencyKeyInput = z
  .string()
  .trim()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII');

export interface Conversion {
  id: string;
  affiliateId: string;
  referralId: string | null;
  kind: 'sale' | 'lead';
  amount: number;
  currency: string;
  source: 'stripe' | 'api';
  /** 1 = first payment of a purchase or subscription; n = the nth payment of a subscription. */
  sequence: number;
  /** How the referral was found (`client_reference_id`, `metadata`, `customer`, `promotion_code`, `lead_email`, `api`...). */
  attributedBy: string | null;
  /** The part refunded, in the conversion's own (net of tax) minor units. */
  refundedAmount: number;
  disputeStatus: 'open' | 'won' | 'lost' | null;
  stripeCheckoutSessionId: string | null;
  stripePaymentIntentId: string | null;
  stripeChargeId: string | null;
  stripeInvoiceId: string | null;
  stripeSubscriptionId: string | null;
  stripeCustomerId: string | null;
  externalId: string | null;
  subscriptionEndedAt: string | null;
  occurredAt: string;
}

export function toConversion(c: ConversionRow): Conversion {
  return {
    id: c.id,
    affiliateId: c.affiliate_id,
    referralId: c.referral_id,
    kind: c.kind,
    amount: c.amount,
    currency: c.currency,
    source: c.source,
    sequence: c.sequence,
    attributedBy: c.attributed_by,
    refundedAmount: c.refunded_amount,
    disputeStatus: c.dispute_status,
    stripeCheckoutSessionId: c.stripe_checkout_session_id,
    stripePaymentIntentId: c.stripe_payment_intent_id,
    stripeChargeId: c.stripe_charge_id,
    stripeInvoiceId: c.stripe_invoice_id,
    stripeSubscriptionId: c.stripe_subscription_id,
    stripeCustomerId: c.stripe_customer_id,
    externalId: c.external_id,
    subscriptionEndedAt: c.subscription_ended_at?.toISOString() ?? null,
    occurredAt: c.occurred_at.toISOString(),
  };
}

/** The commission as the conversions API answers it (the commissions API has the full shape). */
export interface ConversionCommission {
  id: string;
  kind: string;
  amount: number;
  currency: string;
  status: string;
}

const toConversionCommission = (c: CommissionRow | null): ConversionCommission | null =>
  c ? { id: c.id, kind: c.kind, amount: c.amount, currency: c.currency, status: c.status } : null;

export interface SaleInput {
  /** Minor units paid, excluding tax; ≥ 0. */
  amount: number;
  currency: string;
  occurredAt: Date;
  source: 'stripe' | 'api';
  /** What the customer paid including tax (minor units), when known: the whole a dispute's amount is a share of. */
  grossAmount?: number | null;
  /** 1 = first payment (default); n = the nth payment of a subscription. */
  sequence?: number;
  /**
   * A later payment of its subscription (a renewal), even when numbered 1 because none of the subscription's
   * payments is on record: it is never merged into the subscription's first payment. If that first payment was
   * recorded meanwhile (a concurrent checkout), `recordSale` throws and the event is retried.
   */
  renewal?: boolean;
  attributedBy?: string | null;
  stripeEventId?: string | null;
  stripeCheckoutSessionId?: string | null;
  stripePaymentIntentId?: string | null;
  stripeChargeId?: string | null;
  stripeInvoiceId?: string | null;
  stripeSubscriptionId?: string | null;
  stripeCustomerId?: string | null;
  externalId?: string | null;
  customerEmail?: string | null;
  /** Products / prices bought, for the rules engine's product and price rules. */
  lineItems?: readonly SaleLineItem[];
  /** The sale had line items that could not be read (see `CommissionContext.lineItemsUnavailable`). */
  lineItemsUnavailable?: boolean;
}

export type RecordSaleResult =
  | { duplicate: true; conversion: ConversionRow }
  | { duplicate: false; conversion: ConversionRow; commission: CommissionRow | null };

/**
 * Record a sale for `referral` and the commission it earns, exactly once: a second call with any of the same
 * Stripe ids (or external id) in the program — or, for a subscription's first payment, the same subscription —
 * creates nothing and returns the existing conversion with `duplicate: true`, after filling the Stripe ids it
 * lacked (a Checkout Session's conversion learns its charge from the first `invoice.paid`, and vice versa).
 * Binds the referral to the Stripe customer and marks it `customer`, and reads what the commission needs from the
 * history (first payment, fraud facts), in the same statement as the insert.
 * Pass the affiliate's status with the referral (`affiliate_status`, as the referral look-ups return it) to save
 * a read. Call inside a transaction.
 */
export async function recordSale(
  trx: DbOrTrx,
  program: ProgramRow,
  referral: Pick<ReferralRow, 'id' | 'affiliate_id'> & { affiliate_status?: string; affiliate_email?: string },
  sale: SaleInput,
): Promise<RecordSaleResult> {
  const sequence = sale.sequence ?? 1;
  const factsFor = { kind: 'sale' as const, sequence, occurred_at: sale.occurredAt };
  const inserted = await repo.insertConversionOnce(
    trx,
    referral.id,
    {
      stripeCustomerId: sale.stripeCustomerId ?? null,
      email: sale.customerEmail?.trim().toLowerCase() ?? null,
    },
    {
      id: newId('cnv'),
      program_id: program.id,
      affiliate_id: referral.affiliate_id,
      referral_id: referral.id,
      kind: 'sale',
      amount: sale.amount,
      currency: sale.currency.toLowerCase(),
      source: sale.source,
      sequence,
      gross_amount: sale.grossAmount ?? null,
      attributed_by: sale.attributedBy ?? null,
      stripe_event_id: sale.stripeEventId ?? null,
      stripe_checkout_session_id: sale.stripeCheckoutSessionId ?? null,
      stripe_payment_intent_id: sale.stripePaymentIntentId ?? null,
      stripe_charge_id: sale.stripeChargeId ?? null,
      stripe_invoice_id: sale.stripeInvoiceId ?? null,
      stripe_subscription_id: sale.stripeSubscriptionId ?? null,
      stripe_customer_id: sale.stripeCustomerId ?? null,
      external_id: sale.externalId ?? null,
      customer_email: sale.customerEmail?.trim().toLowerCase() ?? null,
      occurred_at: sale.occurredAt,
    },
    commissionFactsOptions(program, factsFor),
  );
  if (!inserted) {
    const existing = await repo.findSaleByKeys(trx, program.id, {
      checkoutSessionId: sale.stripeCheckoutSessionId,
      paymentIntentId: sale.stripePaymentIntentId,
      chargeId: sale.stripeChargeId,
      invoiceId: sale.stripeInvoiceId,
      subscriptionId: sale.stripeSubscriptionId,
      firstPaymentOfSubscription: sequence === 1 && !sale.renewal,
    });
    const byExternal =
      !existing && sale.externalId
        ? await repo.findConversionByExternalId(trx, program.id, sale.externalId)
        : undefined;
    const found = existing ?? byExternal;
    if (!found) throw new Error('conversion insert conflicted but no conversion holds its keys');
    await repo.fillMissingKeys(trx, found, {
      paymentIntentId: sale.stripePaymentIntentId,
      chargeId: sale.stripeChargeId,
      invoiceId: sale.stripeInvoiceId,
      checkoutSessionId: sale.stripeCheckoutSessionId,
      subscriptionId: sale.stripeSubscriptionId,
      customerId: sale.stripeCustomerId,
      grossAmount: sale.grossAmount,
    });
    return { duplicate: true, conversion: found };
  }
  const affiliate =
    referral.affiliate_status !== undefined && referral.affiliate_email !== undefined
      ? { status: referral.affiliate_status, email: referral.affiliate_email }
      : await findAffiliateById(trx, referral.affiliate_id);
  const { first_paid_at: _f, clicked_from_login_ip: _c, conversions_from_ip: _n, ...conversion } = inserted;
  const commission = await createCommissionForConversion(
    trx,
    program,
    conversion,
    affiliate ?? { status: 'approved', email: null },
    { lineItems: sale.lineItems ?? [], lineItemsUnavailable: sale.lineItemsUnavailable },
    toCommissionFacts(inserted),
  );
  return { duplicate: false, conversion, commission };
}

/**
 * Record a lead (a signup) for `referral`, once per referral; the referral becomes a lead with its e-mail.
 * A lead commission comes from the program's `lead` rules (none = no commission).
 */
export async function recordLead(
  trx: DbOrTrx,
  program: ProgramRow,
  referral: Pick<ReferralRow, 'id' | 'affiliate_id'>,
  lead: {
    occurredAt: Date;
    email: string | null;
    externalId: string | null;
    source: 'stripe' | 'api';
    attributedBy: string;
  },
): Promise<RecordSaleResult> {
  const conversion = await repo.insertConversionOnce(trx, null, null, {
    id: newId('cnv'),
    program_id: program.id,
    affiliate_id: referral.affiliate_id,
    referral_id: referral.id,
    kind: 'lead',
    amount: 0,
    currency: program.currency,
    source: lead.source,
    attributed_by: lead.attributedBy,
    external_id: lead.externalId,
    customer_email: lead.email?.trim().toLowerCase() ?? null,
    occurred_at: lead.occurredAt,
    stripe_event_id: null,
    stripe_checkout_session_id: null,
    stripe_payment_intent_id: null,
    stripe_invoice_id: null,
    stripe_subscription_id: null,
    stripe_customer_id: null,
  });
  if (!conversion) {
    const found =
      (lead.externalId ? await repo.findConversionByExternalId(trx, program.id, lead.externalId) : undefined) ??
      (await repo.findLeadConversion(trx, program.id, referral.id));
    if (!found) throw new Error('lead insert conflicted but no conversion holds its keys');
    return { duplicate: true, conversion: found };
  }
  await trx
    .updateTable('referrals')
    .set((eb) => ({
      status: eb
        .case()
        .when('status', '=', 'visitor')
        .then('lead' as const)
        .else(eb.ref('status'))
        .end(),
      email: eb.fn.coalesce('email', eb.val(lead.email?.trim().toLowerCase() ?? null)),
    }))
    .where('id', '=', referral.id)
    .execute();
  const affiliate = await findAffiliateById(trx, referral.affiliate_id);
  const commission = await createCommissionForConversion(
    trx,
    program,
    conversion,
    affiliate ?? { status: 'approved', email: null },
  );
  return { duplicate: false, conversion, commission };
}

/** What `POST /api/v1/conversions` answers: the HTTP status and body, replayed as-is for the same `Idempotency-Key`. */
export interface CreateConversionResponse {
  status: 200 | 201;
  body: { conversion: Conversion; commission: ConversionCommission | null; duplicate: boolean };
  /** True when this is the stored answer to an earlier request with the same key. */
  replayed: boolean;
}

/** Canonical JSON (sorted keys) of the validated request, so `{a,b}` and `{b,a}` are the same request. */
function requestHash(data: unknown): string {
  const canon = (v: unknown): unknown =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v as object)
            .sort()
            .map((k) => [k, canon((v as Record<string, unknown>)[k])]),
        )
      : v;
  return createHash('sha256')
    .update(JSON.stringify(canon(data)))
    .digest('hex');
}

export function createConversionsService(deps: { db: Db; now?: () => Date }) {
  const { db } = deps;
  const now = deps.now ?? (() => new Date());

  /** The referral a conversions API request names, by referral id, affiliate code or customer e-mail (in that order). */
  async function resolveReferral(
    trx: DbOrTrx,
    program: ProgramRow,
    data: z.infer<typeof createConversionInput>,
    at: Date,
  ) {
    if (data.referral) {
      const r = await referrals.findReferral(trx, program.id, data.referral);
      if (!r) throw new NotFoundError('Referral', 'unknown_referral');
      return { referral: r, attributedBy: 'api_referral' };
    }
    if (data.affiliateCode) {
      const affiliate = await findAffiliateByCode(trx, program.id, data.affiliateCode);
      if (!affiliate) throw new NotFoundError('Affiliate code', 'unknown_affiliate');
      const existing = data.customerEmail
        ? await referrals.findAffiliateReferralByEmail(trx, program.id, affiliate.id, data.customerEmail)
        : undefined;
      const r =
        existing ??
        (await referrals.insertReferral(trx, {
          programId: program.id,
          affiliateId: affiliate.id,
          email: data.customerEmail ?? null,
          stripeCustomerId: null,
          at,
          cookieDays: program.cookie_days,
        }));
      return { referral: r, attributedBy: 'api_affiliate_code' };
    }
    const r = await referrals.findReferralByEmail(trx, program.id, data.customerEmail!, at);
    if (!r)
      throw new UnprocessableError(
        'No referral of this program has that e-mail within its attribution window',
        'no_referral',
      );
    return { referral: r, attributedBy: 'api_customer_email' };
  }

  return {
    async list(program: ProgramRow, query: unknown): Promise<Conversion[]> {
      const q = parseInput(listConversionsInput, query);
      return (await repo.listConversions(db, program.id, q)).map(toConversion);
    },

    /**
     * Record a sale or a lead that did not go through Stripe (`POST /api/v1/conversions`).
     *
     * Exactly once: the same `Idempotency-Key` with the same body answers the stored response (`replayed`); with
     * another body it is refused. Without a key, `externalId` is required (the same id is the same conversion).
     * Errors are not stored: fix the request and send it again with the same key.
     *
     * @param idempotencyKey the `Idempotency-Key` header (≤ 255 printable ASCII characters)
     * @throws ValidationError (`invalid_request`, `idempotency_key_required`); NotFoundError `unknown_referral` /
     *   `unknown_affiliate`; UnprocessableError `no_referral` / `referral_expired`; ConflictError `idempotency_key_reused`
     */
    async create(
      program: ProgramRow,
      input: unknown,
      idempotencyKey: string | undefined,
    ): Promise<CreateConversionResponse> {
      const data = parseInput(createConversionInput, input);
      const key = idempotencyKey === undefined ? undefined : parseInput(idempotencyKeyInput, idempotencyKey);
      if (!key && !data.externalId) {
        throw new ValidationError(
          'Send an Idempotency-Key header (or an externalId) so a retry is not counted twice',
          'idempotency_key_required',
        );
      }
      if (!data.referral && !data.affiliateCode && !data.customerEmail) {
        throw new ValidationError('body: one of referral, affiliateCode or customerEmail is required');
      }
      if (data.type === 'sale' && data.amount === undefined) throw new ValidationError('amount: required for a sale');
      if (data.type === 'lead' && !data.customerEmail && !data.referral && !data.affiliateCode) {
        throw new ValidationError('customerEmail: required for a lead');
      }
      const hash = requestHash(data);
      const at = data.occurredAt ? new Date(data.occurredAt) : now();

      return db.transaction().execute(async (trx) => {
        if (key) {
          // Claim the key first: a concurrent request with the same key waits here until this one commits.
          const claimed = await repo.insertApiRequestOnce(trx, {
            program_id: program.id,
            idempotency_key: key,
            request_hash: hash,
            status_code: 0,
            response: '{}',
          });
          if (!claimed) {
            const stored = (await repo.findApiRequest(trx, program.id, key))!;
            if (stored.request_hash !== hash) {
              throw new ConflictError(
                'This Idempotency-Key was used with a different request',
                'idempotency_key_reused',
              );
            }
            return {
              status: stored.status_code as 200 | 201,
              body: stored.response as CreateConversionResponse['body'],
              replayed: true,
            };
          }
        }
        const { referral, attributedBy } = await resolveReferral(trx, program, data, at);
        if (data.type === 'sale' && attributedBy === 'api_referral' && referral.expires_at < at) {
          throw new UnprocessableError('The referral’s attribution window had ended at occurredAt', 'referral_expired');
        }
        const result =
          data.type === 'sale'
            ? await recordSale(trx, program, referral, {
                amount: data.amount!,
                currency: data.currency ?? program.currency,
                occurredAt: at,
                source: 'api',
                grossAmount: data.amount!,
                attributedBy,
                externalId: data.externalId ?? null,
                customerEmail: data.customerEmail ?? null,
              })
            : await recordLead(trx, program, referral, {
                occurredAt: at,
                email: data.customerEmail ?? null,
                externalId: data.externalId ?? null,
                source: 'api',
                attributedBy,
              });
        const commission = result.duplicate
          ? ((await trx
              .selectFrom('commissions')
              .selectAll()
              .where('conversion_id', '=', result.conversion.id)
              .where('amount', '>=', 0)
              .executeTakeFirst()) ?? null)
          : result.commission;
        const response: CreateConversionResponse = {
          status: result.duplicate ? 200 : 201,
          body: {
            conversion: toConversion(result.conversion),
            commission: toConversionCommission(commission),
            duplicate: result.duplicate,
          },
          replayed: false,
        };
        if (key) await repo.updateApiRequest(trx, program.id, key, response.status, JSON.stringify(response.body));
        return response;
      });
    },
  };
}
export type ConversionsService = ReturnType<typeof createConversionsService>;
