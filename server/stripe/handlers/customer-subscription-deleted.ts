/**
 * `customer.subscription.deleted`: the subscription ended, so it earns no more recurring commissions. Its
 * conversions are marked `subscription_ended_at` (`ended_at`, else `canceled_at`, else the event time; the first
 * end recorded wins); `invoice.paid` for an invoice created after that is not a renewal we pay for. Commissions
 * already earned stay.
 * Source: https://docs.stripe.com/api/events/types#event_types-customer.subscription.deleted
 */
import { markSubscriptionEnded } from '../../conversions/conversions.repository.ts';
import { subscription } from '../stripe-objects.ts';
import { ignored, malformed, type StripeEventHandler } from './handler.ts';

export const handleCustomerSubscriptionDeleted: StripeEventHandler = async (ctx, event) => {
  const parsed = subscription.safeParse(event.data.object);
  if (!parsed.success) return malformed('subscription', parsed.error.issues);
  const sub = parsed.data;
  const endedAt = new Date((sub.ended_at ?? sub.canceled_at ?? event.created) * 1000);
  const n = await markSubscriptionEnded(ctx.trx, ctx.program.id, sub.id, endedAt);
  return n > 0 ? { status: 'processed' } : ignored('no_conversion');
};
