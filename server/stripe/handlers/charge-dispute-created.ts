/**
 * `charge.dispute.created`: the customer disputed a referred sale; its commission is put on hold until the
 * dispute closes (`dispute.ts`).
 * Source: https://docs.stripe.com/api/events/types#event_types-charge.dispute.created
 */
import { applyDispute } from './dispute.ts';
import type { StripeEventHandler } from './handler.ts';

export const handleChargeDisputeCreated: StripeEventHandler = (ctx, event) => applyDispute(ctx, event, 'created');
