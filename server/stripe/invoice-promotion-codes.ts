/**
 * Promotion codes of an invoice that its payload names only by discount id. Since 2020-08 an invoice's
 * `discounts` is a list of discount ids unless expanded (current payloads always are so; before 2025-03-31 the
 * single `discount` object also carried its `promotion_code`, which `invoice.paid` reads directly). A discount is
 * not retrievable on its own: the invoice is read again with `expand[]=discounts`
 * (`GET /v1/invoices/:id`, the restricted key's Invoices read permission).
 *
 * `invoicePromotionCodeLoader` returns a loader for attribution to call only when nothing else attributed the
 * payment (`PaymentFacts.morePromotionCodeIds`), or undefined when there is nothing to load: no discount ids, no
 * key, or a program without affiliate promotion codes (no API call could attribute anything then).
 * Source: https://docs.stripe.com/api/invoices/object#invoice_object-discounts, https://docs.stripe.com/expand
 */
import { z } from 'zod';
import type { HandlerContext } from './handlers/handler.ts';

const discountIds = z
  .looseObject({ discounts: z.array(z.unknown()).nullish().catch(null) })
  .transform((o) => (o.discounts ?? []).filter((d): d is string => typeof d === 'string' && d.length <= 255));

export function invoicePromotionCodeLoader(
  ctx: HandlerContext,
  invoiceId: string,
  rawInvoice: unknown,
): (() => Promise<readonly string[]>) | undefined {
  const stripe = ctx.stripe;
  if (!stripe) return undefined;
  const parsed = discountIds.safeParse(rawInvoice);
  if (!parsed.success || parsed.data.length === 0) return undefined;
  return async () => {
    const any = await ctx.trx
      .selectFrom('affiliate_promotion_codes')
      .select('stripe_promotion_code_id')
      .where('program_id', '=', ctx.program.id)
      .limit(1)
      .executeTakeFirst();
    return any ? stripe.invoicePromotionCodes(invoiceId) : [];
  };
}
