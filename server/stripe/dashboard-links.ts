/**
 * Links from our records to the merchant's Stripe Dashboard, so a commission's sale can be checked where it
 * happened. Test-mode objects live under `/test/` (`https://dashboard.stripe.com/test/payments/pi_…`).
 */

/** The Stripe objects a conversion records (`conversions.stripe_*`, and the event that made it). */
export type StripeObjectKind =
  | 'payment_intent'
  | 'charge'
  | 'invoice'
  | 'checkout_session'
  | 'customer'
  | 'subscription'
  | 'dispute'
  | 'event';

/** Dashboard pages by object; objects without a page we can name reliably are shown unlinked. */
const PAGES: Partial<Record<StripeObjectKind, string>> = {
  payment_intent: 'payments',
  charge: 'payments',
  invoice: 'invoices',
  customer: 'customers',
  subscription: 'subscriptions',
};

/**
 * The Dashboard page of a Stripe object, or null when the object has no page we link to (Checkout Sessions,
 * disputes, events) or its mode is unknown (`livemode` null: no stored event says).
 * @param livemode the `livemode` of the Stripe event that recorded the object; false = a test-mode object
 */
export function stripeDashboardUrl(kind: StripeObjectKind, id: string, livemode: boolean | null): string | null {
  const page = PAGES[kind];
  if (!page || livemode === null) return null;
  return `https://dashboard.stripe.com/${livemode ? '' : 'test/'}${page}/${encodeURIComponent(id)}`;
}
