/**
 * The event catalogue of outgoing webhooks and the payload each event carries. The outbox row holds the changed
 * row as it was when the change committed (`to_jsonb`, migration 0026); `renderPayload` maps it to the admin API's
 * public shape with the same mappers the admin API answers with (`toAffiliate`, `toConversion`, `toCommission`,
 * `toPayout`), so a webhook and `GET /api/v1/<concept>/:id` agree.
 *
 * Payload (Standard Webhooks recommended form): `{ "type": "<event type>", "timestamp": "<ISO 8601 UTC, when the change
 * committed>", "data": <the object> }`. Source: https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
 */
import { toAffiliate } from '../affiliates/affiliates.service.ts';
import { type Commission, toCommission } from '../commissions/commissions.service.ts';
import { toConversion } from '../conversions/conversions.service.ts';
import type { AffiliateRow, CommissionRow, ConversionRow, PayoutRow } from '../db/schema.ts';
import { toPayout } from '../payouts/payouts.service.ts';

/** Every event type an endpoint can subscribe to. */
export const EVENT_TYPES = [
  'affiliate.applied',
  'affiliate.approved',
  'affiliate.suspended',
  'referral.created',
  'lead.created',
  'conversion.created',
  'commission.created',
  'commission.approved',
  'commission.reversed',
  'payout.created',
  'payout.completed',
  'payout.failed',
] as const;
export type WebhookEventType = (typeof EVENT_TYPES)[number];

/** An outbox notice for the program's owner, never sent to endpoints (the e-mail outbox picks it up). */
export const ENDPOINT_DISABLED_NOTICE = 'webhook_endpoint.disabled';

/** When each event is written (documentation; the triggers of migration 0026 are the rule). */
export const EVENT_DESCRIPTIONS: Record<WebhookEventType, string> = {
  'affiliate.applied': 'A partner applied (an affiliate created in status pending)',
  'affiliate.approved': 'An affiliate became approved (created approved, or an application approved)',
  'affiliate.suspended': 'An affiliate was suspended',
  'referral.created': 'A new referral: a visitor’s first click (or a sale attributed without one)',
  'lead.created': 'A referred visitor signed up (track/lead, or a Stripe customer bound to the referral)',
  'conversion.created': 'A sale or lead conversion was recorded (Stripe or the conversions API)',
  'commission.created': 'A commission was created for a conversion',
  'commission.approved': 'A commission was approved (hold period over, or by the merchant)',
  'commission.reversed':
    'A commission was taken back: reversed (refund, lost dispute, rejection after approval), reduced in place by a partial refund, or a clawback (negative commission) was created',
  'payout.created': 'A payout was created',
  'payout.completed': 'A payout was completed',
  'payout.failed': 'A payout failed (its commissions are payable again)',
};

/** The public shape of a referral in webhook payloads (there is no referrals admin API). */
export interface WebhookReferral {
  id: string;
  affiliateId: string;
  linkId: string | null;
  status: 'visitor' | 'lead' | 'customer';
  email: string | null;
  stripeCustomerId: string | null;
  createdAt: string;
  expiresAt: string;
}

/**
 * `data` of a `commission.reversed` event: the commission and how much of it was taken back so far, minor units
 * (`reversed_amount`; for a clawback, its size as a positive number).
 */
export interface ReversedCommission extends Commission {
  reversedAmount: number;
}

/** JSON of a row (`to_jsonb`) → the row with Dates where the columns are timestamps (`*_at`). */
function revive<T>(data: Record<string, unknown>): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) out[k] = typeof v === 'string' && k.endsWith('_at') ? new Date(v) : v;
  return out as T;
}

/**
 * The JSON body sent for an outbox event.
 * @param event `type`, `data` (the row as stored), `created_at`; `website` the program's (affiliate referral links)
 */
export function renderPayload(
  event: { type: string; data: Record<string, unknown>; created_at: Date },
  website: string,
): { type: string; timestamp: string; data: unknown } {
  const d = event.data;
  let data: unknown;
  switch (event.type.split('.')[0]) {
    case 'affiliate': {
      const row = revive<AffiliateRow>({ ...d, password_hash: d.has_password ? 'set' : null });
      data = toAffiliate(row, { website });
      break;
    }
    case 'referral':
    case 'lead': {
      const r = revive<{
        id: string;
        affiliate_id: string;
        link_id: string | null;
        status: WebhookReferral['status'];
        email: string | null;
        stripe_customer_id: string | null;
        created_at: Date;
        expires_at: Date;
      }>(d);
      data = {
        id: r.id,
        affiliateId: r.affiliate_id,
        linkId: r.link_id ?? null,
        status: r.status,
        email: r.email ?? null,
        stripeCustomerId: r.stripe_customer_id ?? null,
        createdAt: r.created_at.toISOString(),
        expiresAt: r.expires_at.toISOString(),
      } satisfies WebhookReferral;
      break;
    }
    case 'conversion':
      data = toConversion(revive<ConversionRow>(d));
      break;
    case 'commission': {
      const row = revive<CommissionRow>(d);
      data =
        event.type === 'commission.reversed'
          ? ({
              ...toCommission(row),
              reversedAmount: row.kind === 'clawback' ? -row.amount : row.reversed_amount,
            } satisfies ReversedCommission)
          : toCommission(row);
      break;
    }
    case 'payout':
      data = toPayout(revive<PayoutRow>(d));
      break;
    default:
      data = d;
  }
  return { type: event.type, timestamp: event.created_at.toISOString(), data };
}
