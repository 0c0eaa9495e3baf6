/**
 * The allow-list of Stripe event types we act on, one handler module per type. Every other event is
 * stored in the inbox and acknowledged as `ignored`.
 */
import type { StripeEventHandler } from './handler.ts';
import { handleCheckoutSessionCompleted } from './checkout-session-completed.ts';

export const STRIPE_EVENT_HANDLERS: Readonly<Record<string, StripeEventHandler>> = {
  'checkout.session.completed': handleCheckoutSessionCompleted,
};
