/**
 * What a Checkout sale bought, for product / price commission rules. Checkout webhook payloads never carry
 * `line_items` (Stripe includes them only when asked with `expand`), so:
 *
 * - the payload's `line_items`, when a merchant's own relay expanded them;
 * - else, only when the program has a product or price rule (nothing else reads them), the session's line items
 *   from `GET /v1/checkout/sessions/:id/line_items` with the program's restricted key (Checkout Sessions: read),
 *   each with what it was paid excluding tax, so the rules apply per line (`rules.evaluatePerLine`);
 * - else (no key, or Stripe has no such session): no line items, flagged `unavailable` so the commission records
 *   `rule_reason: line_items_unavailable` instead of silently falling to the default.
 * @throws StripeApiError when the Stripe read fails (the event is retried)
 */
import type { SaleLineItem } from '../commissions/rules.ts';
import { loadRuleSpecs } from '../commissions/commission-rules.service.ts';
import type { CheckoutSession } from './stripe-objects.ts';
import type { HandlerContext } from './handlers/handler.ts';

export async function checkoutLineItems(
  ctx: HandlerContext,
  s: Pick<CheckoutSession, 'id' | 'line_items'>,
): Promise<{ lineItems: SaleLineItem[]; unavailable: boolean }> {
  if (s.line_items) {
    return {
      lineItems: s.line_items.data.flatMap((l) =>
        l.price ? [{ stripePriceId: l.price.id, stripeProductId: l.price.product }] : [],
      ),
      unavailable: false,
    };
  }
  const rules = await loadRuleSpecs(ctx.trx, ctx.program.id, 'sale');
  if (!rules.some((r) => r.stripeProductId !== null || r.stripePriceId !== null))
    return { lineItems: [], unavailable: false };
  if (!ctx.stripe) return { lineItems: [], unavailable: true };
  const lines = await ctx.stripe.checkoutLineItems(s.id);
  return lines ? { lineItems: lines, unavailable: false } : { lineItems: [], unavailable: true };
}
