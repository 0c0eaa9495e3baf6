/**
 * Whether an affiliate's connected Stripe account can take a transfer now: `GET /v1/accounts/:id` with the
 * program's key. Ready means the `transfers` capability is `active` (Stripe refuses a transfer to an account
 * without it) and `payouts_enabled` (the affiliate can move the money to a bank). Otherwise the account's
 * `requirements` say what Stripe still needs.
 * Sources: https://docs.stripe.com/api/accounts/retrieve, https://docs.stripe.com/connect/account-capabilities,
 * https://docs.stripe.com/api/accounts/object#account_object-requirements
 */
import Stripe from 'stripe';

export type AccountReadiness =
  | { ready: true }
  | {
      ready: false;
      /**
       * `stripe_account_missing`: Stripe has no such account (or not one connected to this platform);
       * `stripe_not_configured`: the program has no Stripe key to ask with.
       */
      reason: 'stripe_account_missing' | 'stripe_account_not_ready' | 'stripe_error' | 'stripe_not_configured';
      message: string;
    };

/** The partner's account as the dashboard shows it. */
export type ConnectStatus = 'ready' | 'needs_information' | 'restricted';

/**
 * `ready`: transfers and payouts enabled (the one readiness rule: pay-all's and the dashboard's); `restricted`:
 * Stripe disabled the account for a reason other than missing information; else `needs_information` (a new Account
 * Link lets the partner give it).
 */
export function connectStatus(a: {
  transfers_active: boolean;
  payouts_enabled: boolean;
  disabled_reason: string | null;
}): ConnectStatus {
  if (a.transfers_active && a.payouts_enabled) return 'ready';
  if (a.disabled_reason && !a.disabled_reason.startsWith('requirements.')) return 'restricted';
  return 'needs_information';
}

/** Ready or not, from an account object (`GET /v1/accounts/:id`, or an `account.updated` event). */
export function readinessOf(account: {
  id: string;
  payouts_enabled?: boolean | null;
  capabilities?: { transfers?: string | null } | null;
  requirements?: { currently_due?: string[] | null; disabled_reason?: string | null } | null;
}): AccountReadiness {
  const transfers = account.capabilities?.transfers ?? 'inactive';
  const state = {
    transfers_active: transfers === 'active',
    payouts_enabled: account.payouts_enabled === true,
    disabled_reason: account.requirements?.disabled_reason ?? null,
  };
  if (connectStatus(state) === 'ready') return { ready: true };
  const due = account.requirements?.currently_due ?? [];
  const why = [
    `transfers ${transfers}`,
    `payouts ${account.payouts_enabled ? 'enabled' : 'disabled'}`,
    account.requirements?.disabled_reason ? `disabled: ${account.requirements.disabled_reason}` : '',
    due.length ? `Stripe needs: ${due.slice(0, 10).join(', ')}` : '',
  ].filter(Boolean);
  return {
    ready: false,
    reason: 'stripe_account_not_ready',
    message: `Stripe account ${account.id} is not ready (${why.join('; ')})`.slice(0, 500),
  };
}

/**
 * Ask Stripe whether `accountId` can be paid. Never throws: an API error is `stripe_error` with Stripe's message.
 */
export async function accountReadiness(stripe: Stripe, accountId: string): Promise<AccountReadiness> {
  try {
    return readinessOf(await stripe.accounts.retrieve(accountId));
  } catch (err) {
    const e = err as { statusCode?: number; code?: string; type?: string; message?: string };
    if (e.statusCode === 404 || e.code === 'resource_missing' || e.code === 'account_invalid')
      return { ready: false, reason: 'stripe_account_missing', message: `Stripe has no account ${accountId}` };
    const what = err instanceof Stripe.errors.StripeError ? `stripe ${e.type}` : 'stripe request failed';
    return { ready: false, reason: 'stripe_error', message: `${what}: ${e.message ?? String(err)}`.slice(0, 500) };
  }
}
