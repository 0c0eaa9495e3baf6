/**
 * `charge.dispute.closed`: lost → the disputed share of the commission is taken back; won (or an inquiry
 * closed) → the commission is reinstated (`dispute.ts`).
 * Source: https://docs.stripe.com/api/events/types#event_types-charge.dispute.closed
 */
import { applyDispute } from './dispute.ts';
import type { StripeEventHandler } from './handler.ts';

export const handleChargeDisputeClosed: StripeEventHandler = (ctx, event) => applyDispute(ctx, event, 'closed');
