/**
 * `checkout.session.async_payment_succeeded`: a Checkout Session paid with a delayed method (SEPA debit, bank
 * transfer...) whose `checkout.session.completed` came with `payment_status: unpaid`. Same rules as
 * `checkout.session.completed`; if both report the session as paid, the sale is still counted once.
 * Source: https://docs.stripe.com/payments/checkout/fulfill-orders#delayed-notification
 */
import { handleCheckoutSession } from './checkout-session-completed.ts';
import type { StripeEventHandler } from './handler.ts';

export const handleCheckoutSessionAsyncPaymentSucceeded: StripeEventHandler = handleCheckoutSession;
