/**
 * `account.updated` (a Connect event: `event.account` is the connected account, the object is the account): keeps
 * a partner's onboarded Express account current — `transfers` capability active, `payouts_enabled`,
 * `details_submitted`, what Stripe still needs (`requirements.currently_due`) and why it is disabled. An event older
 * than the state stored (Stripe does not order deliveries) changes nothing. Accounts not onboarded through partnerkit
 * are ignored (`account_not_found`).
 * Sources: https://docs.stripe.com/api/events/types#event_types-account.updated,
 * https://docs.stripe.com/connect/webhooks, https://docs.stripe.com/api/accounts/object
 */
import { z } from 'zod';
import { ignored, malformed, type StripeEventHandler } from './handler.ts';

const account = z.looseObject({
  id: z.string().min(1).max(255),
  payouts_enabled: z.boolean().nullish(),
  details_submitted: z.boolean().nullish(),
  capabilities: z.looseObject({ transfers: z.string().nullish() }).nullish().catch(null),
  requirements: z
    .looseObject({
      currently_due: z.array(z.string().max(255)).max(200).nullish(),
      disabled_reason: z.string().max(255).nullish(),
    })
    .nullish()
    .catch(null),
});

export const handleAccountUpdated: StripeEventHandler = async (ctx, event) => {
  const parsed = account.safeParse(event.data.object);
  if (!parsed.success) return malformed('account', parsed.error.issues);
  const a = parsed.data;
  const at = new Date(event.created * 1000);
  const updated = await ctx.trx
    .updateTable('affiliate_stripe_accounts')
    .set({
      transfers_active: a.capabilities?.transfers === 'active',
      payouts_enabled: a.payouts_enabled === true,
      details_submitted: a.details_submitted === true,
      requirements_due: a.requirements?.currently_due ?? [],
      disabled_reason: a.requirements?.disabled_reason ?? null,
      stripe_updated_at: at,
      updated_at: ctx.now,
    })
    .where('program_id', '=', ctx.program.id)
    .where('account_id', '=', a.id)
    .where((eb) => eb.or([eb('stripe_updated_at', 'is', null), eb('stripe_updated_at', '<=', at)]))
    .returning('affiliate_id')
    .executeTakeFirst();
  if (updated) return { status: 'processed' };
  const known = await ctx.trx
    .selectFrom('affiliate_stripe_accounts')
    .select('affiliate_id')
    .where('program_id', '=', ctx.program.id)
    .where('account_id', '=', a.id)
    .executeTakeFirst();
  return ignored(known ? 'stale_event' : 'account_not_found');
};
