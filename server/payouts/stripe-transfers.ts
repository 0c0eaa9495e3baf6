/**
 * `stripe_connect` payouts: a Stripe Transfer from the merchant's platform balance to the affiliate's connected
 * account (`acct_…`), made with the program's Stripe secret or restricted key (needs `transfers` write access).
 *
 * Exactly once: the request carries the payout id as its `Idempotency-Key`, so a retry after a timeout returns
 * the same transfer; and the payout id is the transfer's `transfer_group`, so a retry after Stripe forgot the key
 * (keys live 24 hours) finds the transfer it made instead of making a second one.
 * Sources: https://docs.stripe.com/api/transfers/create, https://docs.stripe.com/api/idempotent_requests
 */
import Stripe from 'stripe';
import type { StripeEndpoint } from '../stripe/stripe-api.ts';

export type TransferOutcome =
  | { status: 'sent'; transferId: string }
  /** Stripe refused for good (bad destination, insufficient platform balance, bad key): nothing was sent. */
  | { status: 'refused'; reason: string }
  /** Network or Stripe-side trouble: unknown whether it was sent; retry later with the same payout. */
  | { status: 'unknown'; reason: string };

/** A Stripe client for `apiKey`; `endpoint` points it elsewhere (tests' loopback fake). */
export function stripeClient(apiKey: string, endpoint?: StripeEndpoint): Stripe {
  return new Stripe(apiKey, {
    ...(endpoint ? { host: endpoint.host, port: endpoint.port, protocol: endpoint.protocol } : {}),
    maxNetworkRetries: 2,
    timeout: 20_000,
    telemetry: false,
  });
}

/**
 * Send `amount` minor units of `currency` to `destination` for payout `payoutId`.
 * @param retry true when an earlier attempt may have reached Stripe: look for its transfer first
 * @returns the outcome; never throws for Stripe errors
 */
export async function sendTransfer(
  stripe: Stripe,
  p: { payoutId: string; affiliateId: string; amount: number; currency: string; destination: string; retry: boolean },
): Promise<TransferOutcome> {
  try {
    if (p.retry) {
      const earlier = await stripe.transfers.list({ transfer_group: p.payoutId, limit: 1 });
      const found = earlier.data[0];
      if (found) return { status: 'sent', transferId: found.id };
    }
    const transfer = await stripe.transfers.create(
      {
        amount: p.amount,
        currency: p.currency,
        destination: p.destination,
        transfer_group: p.payoutId,
        description: `partnerkit payout ${p.payoutId}`,
        metadata: { partnerkit_payout_id: p.payoutId, partnerkit_affiliate_id: p.affiliateId },
      },
      { idempotencyKey: p.payoutId },
    );
    return { status: 'sent', transferId: transfer.id };
  } catch (err) {
    if (err instanceof Stripe.errors.StripeError) {
      const reason = `stripe ${err.type}${err.code ? ` ${err.code}` : ''}: ${err.message}`.slice(0, 500);
      const definitive =
        err instanceof Stripe.errors.StripeInvalidRequestError ||
        err instanceof Stripe.errors.StripeCardError ||
        err instanceof Stripe.errors.StripePermissionError ||
        err instanceof Stripe.errors.StripeAuthenticationError;
      return definitive ? { status: 'refused', reason } : { status: 'unknown', reason };
    }
    return { status: 'unknown', reason: `stripe request failed: ${(err as Error).message}`.slice(0, 500) };
  }
}
