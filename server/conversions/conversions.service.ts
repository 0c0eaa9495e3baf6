/**
 * Conversions: paid sales (or leads) attributed to a referral, each counted once per external payment id.
 */
import { z } from 'zod';
import type { Db, DbOrTrx } from '../db/database.ts';
import type { CommissionRow, ConversionRow, ProgramRow, ReferralRow } from '../db/schema.ts';
import { newId } from '../ids.ts';
import { parseInput } from '../http/input.ts';
import { createCommissionForConversion } from '../commissions/commissions.service.ts';
import { findAffiliateById } from '../affiliates/affiliates.repository.ts';
import * as repo from './conversions.repository.ts';

export const listConversionsInput = z.object({
  affiliateId: z.string().max(100).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

export interface Conversion {
  id: string;
  affiliateId: string;
  referralId: string | null;
  kind: 'sale' | 'lead';
  amount: number;
  currency: string;
  source: 'stripe' | 'api';
  stripeCheckoutSessionId: string | null;
  stripePaymentIntentId: string | null;
  stripeInvoiceId: string | null;
  stripeCustomerId: string | null;
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
    stripeCheckoutSessionId: c.stripe_checkout_session_id,
    stripePaymentIntentId: c.stripe_payment_intent_id,
    stripeInvoiceId: c.stripe_invoice_id,
    stripeCustomerId: c.stripe_customer_id,
    occurredAt: c.occurred_at.toISOString(),
  };
}

export interface SaleInput {
  /** Minor units paid, excluding tax; ≥ 0. */
  amount: number;
  currency: string;
  occurredAt: Date;
  source: 'stripe' | 'api';
  stripeEventId?: string | null;
  stripeCheckoutSessionId?: string | null;
  stripePaymentIntentId?: string | null;
  stripeInvoiceId?: string | null;
  stripeSubscriptionId?: string | null;
  stripeCustomerId?: string | null;
  externalId?: string | null;
  customerEmail?: string | null;
}

/**
 * Record a sale for `referral` and the commission it earns, exactly once: a second call with any of the
 * same Stripe ids (or external id) in the program changes nothing and returns `duplicate: true`.
 * Binds the referral to the Stripe customer and marks it `customer`. Call inside a transaction.
 */
export async function recordSale(
  trx: DbOrTrx,
  program: ProgramRow,
  referral: Pick<ReferralRow, 'id' | 'affiliate_id'>,
  sale: SaleInput,
): Promise<{ duplicate: true } | { duplicate: false; conversion: ConversionRow; commission: CommissionRow | null }> {
  const conversion = await repo.insertConversionOnce(trx, {
    id: newId('cnv'),
    program_id: program.id,
    affiliate_id: referral.affiliate_id,
    referral_id: referral.id,
    kind: 'sale',
    amount: sale.amount,
    currency: sale.currency.toLowerCase(),
    source: sale.source,
    stripe_event_id: sale.stripeEventId ?? null,
    stripe_checkout_session_id: sale.stripeCheckoutSessionId ?? null,
    stripe_payment_intent_id: sale.stripePaymentIntentId ?? null,
    stripe_invoice_id: sale.stripeInvoiceId ?? null,
    stripe_subscription_id: sale.stripeSubscriptionId ?? null,
    stripe_customer_id: sale.stripeCustomerId ?? null,
    external_id: sale.externalId ?? null,
    customer_email: sale.customerEmail?.toLowerCase() ?? null,
    occurred_at: sale.occurredAt,
  });
  if (!conversion) return { duplicate: true };
  await trx
    .updateTable('referrals')
    .set((eb) => ({
      status: 'customer' as const,
      stripe_customer_id: sale.stripeCustomerId ?? eb.ref('stripe_customer_id'),
      email: eb.fn.coalesce('email', eb.val(sale.customerEmail?.toLowerCase() ?? null)),
    }))
    .where('id', '=', referral.id)
    .execute();
  const affiliate = await findAffiliateById(trx, referral.affiliate_id);
  const commission = await createCommissionForConversion(trx, program, conversion, affiliate?.status ?? 'approved');
  return { duplicate: false, conversion, commission };
}

export function createConversionsService(deps: { db: Db }) {
  const { db } = deps;
  return {
    async list(program: ProgramRow, query: unknown): Promise<Conversion[]> {
      const q = parseInput(listConversionsInput, query);
      return (await repo.listConversions(db, program.id, q)).map(toConversion);
    },
  };
}
export type ConversionsService = ReturnType<typeof createConversionsService>;
