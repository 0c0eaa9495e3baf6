/**
 * The OpenAPI 3.1 `webhooks` section: one entry per event type that partnerkit POSTs to a merchant's endpoint, with
 * the Standard Webhooks headers, the body's JSON schema (the admin API's shapes) and an example payload.
 * `test/integration/outgoing-webhooks-openapi.test.ts` parses every example with its shape.
 */
import { z } from 'zod';
import { EVENT_DESCRIPTIONS, EVENT_TYPES, type WebhookEventType } from './events.ts';
import { webhookPayloadShape } from './webhook-endpoints.schemas.ts';

const AT = '2026-03-02T10:15:00.000Z';
const affiliate = {
  id: 'aff_3kq9x2mxv1',
  code: 'janedoe-x7k2',
  email: 'jane@partners.example',
  name: 'Jane Doe',
  status: 'approved',
  referralLink: 'https://shop.example/?ref=janedoe-x7k2',
  hasPassword: true,
  rejectionReason: null,
  payoutMethod: 'paypal',
  createdAt: AT,
};
const referral = {
  id: 'ref_01hq3v5d7k2m',
  affiliateId: affiliate.id,
  linkId: null,
  status: 'visitor',
  email: null,
  stripeCustomerId: null,
  createdAt: AT,
  expiresAt: '2026-04-01T10:15:00.000Z',
};
const conversion = {
  id: 'cnv_8m2k4q9z1x',
  affiliateId: affiliate.id,
  referralId: referral.id,
  kind: 'sale',
  amount: 4900,
  currency: 'usd',
  source: 'stripe',
  sequence: 1,
  attributedBy: 'client_reference_id',
  refundedAmount: 0,
  disputeStatus: null,
  stripeCheckoutSessionId: 'cs_live_a1b2c3',
  stripePaymentIntentId: 'pi_3OqX2a',
  stripeChargeId: null,
  stripeInvoiceId: null,
  stripeSubscriptionId: null,
  stripeCustomerId: 'cus_PqR5t',
  externalId: null,
  subscriptionEndedAt: null,
  occurredAt: AT,
};
const commission = {
  id: 'com_5t7y9u1i3o',
  affiliateId: affiliate.id,
  conversionId: conversion.id,
  kind: 'sale',
  amount: 490,
  currency: 'usd',
  rateBps: 1000,
  ruleId: null,
  ruleReason: null,
  paymentMonth: 1,
  status: 'pending',
  holdReason: null,
  payableAt: '2026-04-01T10:15:00.000Z',
  approvedAt: null,
  paidAt: null,
  payoutId: null,
  reason: null,
  createdAt: AT,
};
const payout = {
  id: 'pay_2w4e6r8t0y',
  affiliateId: affiliate.id,
  amount: 12_250,
  currency: 'usd',
  status: 'pending',
  method: 'paypal',
  methodDetails: { email: 'jane@partners.example' },
  reference: null,
  failureReason: null,
  batchId: null,
  requestedBy: 'system',
  stripeTransferId: null,
  createdAt: AT,
  processingAt: null,
  completedAt: null,
  failedAt: null,
};

/** An example `data` per event type. */
export const EXAMPLE_DATA: Record<WebhookEventType, unknown> = {
  'affiliate.applied': { ...affiliate, status: 'pending', hasPassword: false, payoutMethod: null },
  'affiliate.approved': affiliate,
  'affiliate.suspended': { ...affiliate, status: 'suspended' },
  'referral.created': referral,
  'lead.created': { ...referral, status: 'lead', email: 'buyer@customer.example' },
  'conversion.created': conversion,
  'commission.created': commission,
  'commission.approved': { ...commission, status: 'approved', approvedAt: '2026-04-01T10:16:00.000Z' },
  'commission.reversed': { ...commission, amount: 0, status: 'reversed', reason: 'refund', reversedAmount: 490 },
  'payout.created': payout,
  'payout.completed': { ...payout, status: 'completed', reference: 'PAYPAL-7KX', completedAt: AT },
  'payout.failed': { ...payout, status: 'failed', failureReason: 'PayPal account closed', failedAt: AT },
};

const header = (name: string, description: string) => ({
  name,
  in: 'header',
  required: true,
  description,
  schema: { type: 'string' },
});

/** The `webhooks` object of the OpenAPI document. */
export function outgoingWebhooksDocument(): Record<string, unknown> {
  return Object.fromEntries(
    EVENT_TYPES.map((type) => {
      const { $schema: _, ...schema } = z.toJSONSchema(webhookPayloadShape(type), { io: 'output' }) as Record<
        string,
        unknown
      >;
      return [
        type,
        {
          post: {
            summary: EVENT_DESCRIPTIONS[type],
            description:
              'Signed per Standard Webhooks with the endpoint’s whsec_ secret (verify with any Standard Webhooks ' +
              'library). Delivered at least once: de-duplicate on webhook-id. Answer 2xx within 10 s; anything else ' +
              'is retried for ~3 days (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 21 h).',
            tags: ['webhooks'],
            parameters: [
              header('webhook-id', 'The event id (msg_…): the idempotency key, the same on every attempt'),
              header('webhook-timestamp', 'Unix seconds of the attempt'),
              header('webhook-signature', 'v1,<base64 HMAC-SHA256>; two, space-separated, for 24 h after a rotation'),
            ],
            requestBody: {
              required: true,
              content: {
                'application/json': {
                  schema,
                  example: { type, timestamp: AT, data: EXAMPLE_DATA[type] },
                },
              },
            },
            responses: { '2XX': { description: 'Received (any other answer, or none within 10 s, is retried)' } },
          },
        },
      ];
    }),
  );
}
