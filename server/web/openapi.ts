/**
 * `GET /api/v1/openapi.json`: the HTTP API as an OpenAPI 3.1 document. Request bodies and query parameters
 * are generated from the same zod schemas the services validate with (`z.toJSONSchema`), so the document
 * cannot drift from what the server accepts. Public: it describes the API, it grants nothing.
 */
import Router from '@koa/router';
import { z } from 'zod';
import { emailPreferencesInput } from '../mail/outbox.service.ts';
import { createAffiliateInput, listAffiliatesInput, updateAffiliateInput } from '../affiliates/affiliates.service.ts';
import {
  exportAffiliatesInput,
  importAffiliatesInput,
  rejectAffiliateInput,
} from '../affiliates/affiliates.service.ts';
import { createLinkInput, listLinksInput, updateLinkInput } from '../links/links.service.ts';
import { createApiKeyInput, webhookSecretInput } from '../programs/credentials.service.ts';
import { createConversionInput, listConversionsInput } from '../conversions/conversions.service.ts';
import {
  bulkDecisionInput,
  decideCommissionInput,
  exportCommissionsInput,
  listCommissionsInput,
} from '../commissions/commissions.service.ts';
import { listRulesInput, previewInput, ruleInput } from '../commissions/commission-rules.service.ts';
import {
  balancesInput,
  completePayoutInput,
  createPayoutInput,
  exportPayoutsInput,
  failPayoutInput,
  listPayoutsInput,
  requestPayoutInput,
} from '../payouts/payouts.service.ts';
import { updateSettingsInput } from '../programs/programs.service.ts';
import { payAllInput } from '../payouts/pay-all.ts';
import { onboardInput } from '../payouts/connect-onboarding.ts';
import { programStatsInput, statsInput } from '../programs/stats.service.ts';
import {
  createPromotionCodeInput,
  listPromotionCodesInput,
  testStripeKeyInput,
} from '../stripe/stripe-settings.service.ts';
import { listStripeEventsInput } from '../stripe/stripe-events.service.ts';
import { clickInput, leadInput } from '../tracking/tracking.service.ts';
import * as partnerInputs from '../partner/partner.service.ts';
import { partnerResponses } from '../partner/partner.schemas.ts';
import { affiliateResponses } from '../affiliates/affiliates.schemas.ts';
import { linkResponses } from '../links/links.schemas.ts';
import { conversionResponses } from '../conversions/conversions.schemas.ts';
import { commissionResponses, ruleResponses } from '../commissions/commissions.schemas.ts';
import { payoutResponses } from '../payouts/payouts.schemas.ts';
import { programResponses } from '../programs/programs.schemas.ts';
import { stripeResponses } from '../stripe/stripe.schemas.ts';
import {
  createEndpointInput,
  listDeliveriesInput,
  updateEndpointInput,
} from '../outgoing-webhooks/webhook-endpoints.service.ts';
import { webhookEndpointResponses } from '../outgoing-webhooks/webhook-endpoints.schemas.ts';
import { outgoingWebhooksDocument } from '../outgoing-webhooks/webhooks.openapi.ts';
import { yearInput } from '../payouts/earnings.ts';
import { earningsResponses } from '../payouts/earnings.schemas.ts';
import { taxInfoInput } from '../partner/tax-info.service.ts';
import { taxInfoResponses } from '../partner/tax-info.schemas.ts';
import { consoleResponses } from '../console/console.schemas.ts';
import * as consoleInputs from '../console/console.service.ts';

type Auth = 'apiKey' | 'session' | 'consoleSession' | 'public' | 'stripeSignature';
interface Operation {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete' | 'options';
  path: string;
  summary: string;
  tag: string;
  auth: Auth;
  body?: z.ZodType;
  query?: z.ZodType;
  /** The success answer of a non-admin operation (admin ones: `RESPONSES`). */
  answer?: SuccessAnswer;
}

const op = (
  method: Operation['method'],
  path: string,
  tag: string,
  auth: Auth,
  summary: string,
  extra: Partial<Operation> = {},
): Operation => ({ method, path, tag, auth, summary, ...extra });

const OPERATIONS: Operation[] = [
  op('get', '/healthz', 'health', 'public', 'Liveness: 200 { status: "ok" } while the process serves HTTP'),
  op(
    'get',
    '/readyz',
    'health',
    'public',
    'Readiness: 200 { status: "ready" } when the database answers and migrations are applied; else 503 with Retry-After',
  ),
  op('get', '/pk.js', 'tracking', 'public', 'The tracking snippet'),
  op('get', '/r/{slug}', 'tracking', 'public', 'Tracking link: records a click and redirects to the merchant’s page'),
  op('post', '/api/v1/track/click', 'tracking', 'public', 'Record a click (called by the snippet; text/plain JSON)', {
    body: clickInput,
  }),
  op('post', '/api/v1/track/lead', 'tracking', 'public', 'Record a lead (called by the snippet)', { body: leadInput }),
  op('options', '/api/v1/track/click', 'tracking', 'public', 'CORS preflight of the snippet’s click (204)'),
  op('options', '/api/v1/track/lead', 'tracking', 'public', 'CORS preflight of the snippet’s lead (204)'),
  op('get', '/api/v1/openapi.json', 'meta', 'public', 'This document'),
  op('get', '/partner', 'partner', 'public', 'The partner dashboard (a single-page app)'),
  op('get', '/partner/{page}', 'partner', 'public', 'A page of the partner dashboard (the same app; it routes itself)'),
  op('get', '/partner/assets/{file}', 'partner', 'public', 'The dashboard’s scripts and styles (immutable, hashed)'),
  op(
    'post',
    '/api/v1/webhooks/stripe/{programId}',
    'stripe',
    'stripeSignature',
    'Stripe webhook endpoint (raw body, Stripe-Signature)',
  ),
  op('get', '/api/v1/program', 'program', 'apiKey', 'Program settings'),
  op('patch', '/api/v1/program', 'program', 'apiKey', 'Change program settings', { body: updateSettingsInput }),
  op('get', '/api/v1/stats', 'program', 'apiKey', 'Program at a glance', { query: programStatsInput }),
  op(
    'get',
    '/api/v1/stats/daily',
    'program',
    'apiKey',
    'Clicks, leads, sales, revenue, commissions per day; top affiliates',
    {
      query: statsInput,
    },
  ),
  op('get', '/api/v1/affiliates', 'affiliates', 'apiKey', 'List affiliates', { query: listAffiliatesInput }),
  op(
    'post',
    '/api/v1/affiliates',
    'affiliates',
    'apiKey',
    'Create an affiliate (approved ones get a set-password link)',
    { body: createAffiliateInput },
  ),
  op('get', '/api/v1/affiliates/{id}', 'affiliates', 'apiKey', 'One affiliate'),
  op('patch', '/api/v1/affiliates/{id}', 'affiliates', 'apiKey', 'Change e-mail, name or code', {
    body: updateAffiliateInput,
  }),
  op(
    'delete',
    '/api/v1/affiliates/{id}',
    'affiliates',
    'apiKey',
    'Delete an affiliate with nothing on record (204); 409 affiliate_has_activity otherwise: suspend it',
  ),
  op(
    'post',
    '/api/v1/affiliates/{id}/approve',
    'affiliates',
    'apiKey',
    'Approve (returns a one-time set-password link)',
  ),
  op('post', '/api/v1/affiliates/{id}/reject', 'affiliates', 'apiKey', 'Reject an application', {
    body: rejectAffiliateInput,
  }),
  op('post', '/api/v1/affiliates/{id}/suspend', 'affiliates', 'apiKey', 'Suspend'),
  op(
    'post',
    '/api/v1/affiliates/{id}/invite',
    'affiliates',
    'apiKey',
    'A fresh set-password link (e-mailed when SMTP is set)',
  ),
  op('get', '/api/v1/links', 'links', 'apiKey', 'List tracking links', { query: listLinksInput }),
  op('post', '/api/v1/links', 'links', 'apiKey', 'Create a tracking link', { body: createLinkInput }),
  op('patch', '/api/v1/links/{id}', 'links', 'apiKey', 'Change a link’s destination or campaign', {
    body: updateLinkInput,
  }),
  op('delete', '/api/v1/links/{id}', 'links', 'apiKey', 'Retire a link (it redirects on, recording no click)'),
  op('get', '/api/v1/api-keys', 'program', 'apiKey', 'API keys of the program (prefix, last use, revoked)'),
  op('post', '/api/v1/api-keys', 'program', 'apiKey', 'Create an API key (the key is shown once)', {
    body: createApiKeyInput,
  }),
  op('delete', '/api/v1/api-keys/{id}', 'program', 'apiKey', 'Revoke an API key (409 last_api_key for the last one)'),
  op(
    'post',
    '/api/v1/api-keys/{id}/rotate',
    'program',
    'apiKey',
    'Rotate an API key: a new key with its name (shown once), the old one revoked in the same transaction',
  ),
  op('get', '/api/v1/webhook-secrets', 'stripe', 'apiKey', 'Stripe webhook signing secrets (last 4 characters)'),
  op('post', '/api/v1/webhook-secrets', 'stripe', 'apiKey', 'Add a signing secret (several may be active)', {
    body: webhookSecretInput,
  }),
  op(
    'delete',
    '/api/v1/webhook-secrets/{id}',
    'stripe',
    'apiKey',
    'Retire a signing secret (409 last_webhook_secret for the last one)',
  ),
  // Outgoing webhooks (issue 21).
  op('get', '/api/v1/webhook-endpoints', 'webhooks', 'apiKey', 'Webhook endpoints of the program'),
  op(
    'post',
    '/api/v1/webhook-endpoints',
    'webhooks',
    'apiKey',
    'Add an endpoint (its whsec_ secret is in the answer)',
    {
      body: createEndpointInput,
    },
  ),
  op('get', '/api/v1/webhook-endpoints/{id}', 'webhooks', 'apiKey', 'One webhook endpoint'),
  op('patch', '/api/v1/webhook-endpoints/{id}', 'webhooks', 'apiKey', 'Change url, description, event types, enabled', {
    body: updateEndpointInput,
  }),
  op('delete', '/api/v1/webhook-endpoints/{id}', 'webhooks', 'apiKey', 'Delete an endpoint with its delivery log'),
  op(
    'post',
    '/api/v1/webhook-endpoints/{id}/rotate-secret',
    'webhooks',
    'apiKey',
    'A new signing secret; the old one signs too for 24 h',
  ),
  op('get', '/api/v1/webhook-endpoints/{id}/deliveries', 'webhooks', 'apiKey', 'Delivery log (newest first)', {
    query: listDeliveriesInput,
  }),
  op(
    'post',
    '/api/v1/webhook-endpoints/{id}/deliveries/{deliveryId}/redeliver',
    'webhooks',
    'apiKey',
    'Send a delivery again now (same webhook-id)',
  ),
  op('get', '/api/v1/conversions', 'conversions', 'apiKey', 'List conversions', { query: listConversionsInput }),
  op(
    'post',
    '/api/v1/conversions',
    'conversions',
    'apiKey',
    'Record a sale or lead billed outside Stripe (Idempotency-Key header)',
    { body: createConversionInput },
  ),
  op('get', '/api/v1/commissions', 'commissions', 'apiKey', 'List commissions', { query: listCommissionsInput }),
  op('get', '/api/v1/commissions/{id}', 'commissions', 'apiKey', 'One commission with its history'),
  op('post', '/api/v1/commissions/{id}/approve', 'commissions', 'apiKey', 'Approve a pending or held commission', {
    body: decideCommissionInput,
  }),
  op('post', '/api/v1/commissions/{id}/reject', 'commissions', 'apiKey', 'Reject a commission', {
    body: decideCommissionInput,
  }),
  op('get', '/api/v1/commission-rules', 'commissions', 'apiKey', 'List commission rules', { query: listRulesInput }),
  op('post', '/api/v1/commission-rules', 'commissions', 'apiKey', 'Create a rule', { body: ruleInput }),
  op('get', '/api/v1/commission-rules/{id}', 'commissions', 'apiKey', 'One rule'),
  op('patch', '/api/v1/commission-rules/{id}', 'commissions', 'apiKey', 'Change a rule'),
  op('delete', '/api/v1/commission-rules/{id}', 'commissions', 'apiKey', 'Archive a rule'),
  op(
    'post',
    '/api/v1/commission-rules/preview',
    'commissions',
    'apiKey',
    'What a sale or lead would earn, by which rule (the same engine as real sales; writes nothing)',
    { body: previewInput },
  ),
  op('get', '/api/v1/balances', 'payouts', 'apiKey', 'Balances per affiliate and currency', { query: balancesInput }),
  op('get', '/api/v1/payouts', 'payouts', 'apiKey', 'List payouts', { query: listPayoutsInput }),
  op('post', '/api/v1/payouts', 'payouts', 'apiKey', 'Create a payout (never above the balance)', {
    body: createPayoutInput,
  }),
  op('get', '/api/v1/payouts/export', 'payouts', 'apiKey', 'PayPal Payouts or Wise batch CSV', {
    query: exportPayoutsInput,
  }),
  op('get', '/api/v1/payouts/{id}', 'payouts', 'apiKey', 'One payout'),
  op(
    'post',
    '/api/v1/payouts/{id}/process',
    'payouts',
    'apiKey',
    'Start paying (Stripe Connect transfer for stripe_connect)',
  ),
  op('post', '/api/v1/payouts/{id}/complete', 'payouts', 'apiKey', 'Mark paid, with a reference', {
    body: completePayoutInput,
  }),
  op('post', '/api/v1/payouts/{id}/fail', 'payouts', 'apiKey', 'Mark failed: its commissions return to the balance', {
    body: failPayoutInput,
  }),
  op(
    'post',
    '/api/v1/payouts/pay-all',
    'payouts',
    'apiKey',
    'Create every due payout and pay it: Stripe transfers, PayPal/Wise files; who was not paid and why',
    { body: payAllInput },
  ),
  op('get', '/api/v1/promotion-codes', 'stripe', 'apiKey', 'Affiliates’ Stripe promotion codes', {
    query: listPromotionCodesInput,
  }),
  op('post', '/api/v1/promotion-codes', 'stripe', 'apiKey', 'Map a Stripe promotion code to an affiliate', {
    body: createPromotionCodeInput,
  }),
  op('delete', '/api/v1/promotion-codes/{id}', 'stripe', 'apiKey', 'Remove a mapping'),
  op(
    'get',
    '/api/v1/stripe-events',
    'stripe',
    'apiKey',
    'Stored Stripe events: status, attempts, why ignored or failed',
    {
      query: listStripeEventsInput,
    },
  ),
  op('get', '/api/v1/stripe-events/{id}', 'stripe', 'apiKey', 'One stored Stripe event with its payload'),
  op(
    'post',
    '/api/v1/stripe-events/{id}/replay',
    'stripe',
    'apiKey',
    'Process a stored Stripe event again through the webhook’s own path (idempotent: no second sale); 409 stripe_event_busy while another worker runs it',
  ),
  op(
    'get',
    '/api/v1/program/stripe-key',
    'stripe',
    'apiKey',
    'The Stripe restricted key: set or not, test or live, the permissions it needs (set it with PATCH /api/v1/program)',
  ),
  op(
    'post',
    '/api/v1/program/stripe-key/test',
    'stripe',
    'apiKey',
    'Test a Stripe key (the given one, else the stored one) against Stripe: ok, or what is missing; 409 stripe_key_missing',
    { body: testStripeKeyInput },
  ),
  op('get', '/api/v1/partner/programs/{programId}', 'partner', 'public', 'A program’s public page (name, website)'),
  op('post', '/api/v1/partner/programs/{programId}/apply', 'partner', 'public', 'Apply to a program', {
    body: partnerInputs.applyInput,
  }),
  op('post', '/api/v1/partner/password', 'partner', 'public', 'Set a password with a one-time link, and log in', {
    body: partnerInputs.setPasswordInput,
  }),
  op('post', '/api/v1/partner/password/reset', 'partner', 'public', 'E-mail a password reset link', {
    body: partnerInputs.resetRequestInput,
  }),
  op('post', '/api/v1/partner/login', 'partner', 'public', 'Log in', { body: partnerInputs.loginInput }),
  op('post', '/api/v1/partner/logout', 'partner', 'session', 'Log out (here or everywhere)'),
  op('post', '/api/v1/partner/password/change', 'partner', 'session', 'Change password', {
    body: partnerInputs.changePasswordInput,
  }),
  op('get', '/api/v1/partner/me', 'partner', 'session', 'Who is logged in, and the CSRF token'),
  op('get', '/api/v1/partner/overview', 'partner', 'session', 'Clicks, customers, revenue, commissions, next payout'),
  op('get', '/api/v1/partner/stats', 'partner', 'session', 'Clicks and earnings per day', {
    query: partnerInputs.statsInput,
  }),
  op('get', '/api/v1/partner/links', 'partner', 'session', 'The affiliate’s links'),
  op('post', '/api/v1/partner/links', 'partner', 'session', 'Create a link', { body: partnerInputs.createLinkInput }),
  op('get', '/api/v1/partner/referrals', 'partner', 'session', 'Referred customers (e-mails masked)', {
    query: partnerInputs.pageInput,
  }),
  op('get', '/api/v1/partner/commissions', 'partner', 'session', 'Commissions', { query: partnerInputs.pageInput }),
  op('get', '/api/v1/partner/commissions.csv', 'partner', 'session', 'Commissions as CSV'),
  op('get', '/api/v1/partner/commissions/{id}', 'partner', 'session', 'One commission'),
  op('get', '/api/v1/partner/payouts', 'partner', 'session', 'Payout history', { query: partnerInputs.pageInput }),
  op('get', '/api/v1/partner/payouts/{id}', 'partner', 'session', 'One payout'),
  op('post', '/api/v1/partner/payouts/request', 'partner', 'session', 'Ask for a payout above the minimum', {
    body: requestPayoutInput,
  }),
  op('get', '/api/v1/partner/payout-settings', 'partner', 'session', 'Payout method'),
  op('put', '/api/v1/partner/payout-settings', 'partner', 'session', 'Set the payout method (needs the password)', {
    body: partnerInputs.payoutSettingsInput,
  }),
  op(
    'post',
    '/api/v1/partner/stripe-connect/onboard',
    'partner',
    'session',
    'Get paid with Stripe: an Express account (once) and a link to Stripe’s onboarding (needs the password)',
    { body: onboardInput },
  ),
  // E-mail (issue 21): the partner's e-mail preferences and the one-click unsubscribe link (RFC 8058).
  op('get', '/api/v1/partner/email-preferences', 'partner', 'session', 'Which kinds of e-mail the partner receives'),
  op('put', '/api/v1/partner/email-preferences', 'partner', 'session', 'Turn kinds of e-mail on or off', {
    body: emailPreferencesInput,
  }),
  op('get', '/api/v1/unsubscribe', 'mail', 'public', 'Unsubscribe link: a page asking to confirm (?token=…)'),
  op(
    'post',
    '/api/v1/unsubscribe',
    'mail',
    'public',
    'One-click unsubscribe (RFC 8058, body List-Unsubscribe=One-Click): stops that kind of e-mail for that person',
  ),
  // Statements, yearly earnings, tax details, Connect status (issue 22).
  op(
    'get',
    '/api/v1/partner/stripe-connect',
    'partner',
    'session',
    'Stripe account status: none, ready, needs_information (onboard again for a new link) or restricted',
  ),
  op('get', '/api/v1/partner/payouts/{id}/statement.csv', 'partner', 'session', 'Statement of one payout (CSV)'),
  op(
    'get',
    '/api/v1/partner/payouts/{id}/statement.html',
    'partner',
    'session',
    'Statement of one payout (printable page)',
  ),
  op('get', '/api/v1/partner/earnings', 'partner', 'session', 'Paid in a year and not yet paid, per currency', {
    query: yearInput,
  }),
  op('get', '/api/v1/partner/tax-info', 'partner', 'session', 'Legal name, country, tax id (masked)'),
  op('put', '/api/v1/partner/tax-info', 'partner', 'session', 'Set legal name, country, tax id (needs the password)', {
    body: taxInfoInput,
  }),
  op('get', '/api/v1/earnings/yearly', 'payouts', 'apiKey', 'Paid in a year per affiliate and currency (1099-NEC)', {
    query: yearInput,
  }),
  op('get', '/api/v1/earnings/yearly.csv', 'payouts', 'apiKey', 'Paid in a year per affiliate and currency, as CSV', {
    query: yearInput,
  }),
  op('get', '/api/v1/affiliates/{id}/tax-info', 'affiliates', 'apiKey', 'An affiliate’s tax details (tax id masked)'),
  // The merchant console (issue 20): its pages, and the console-only API (console session cookie).
  op('get', '/app', 'console', 'public', 'The merchant console (a single-page app)'),
  op('get', '/app/{page}', 'console', 'public', 'A page of the merchant console (the same app; it routes itself)'),
  op('get', '/app/assets/{file}', 'console', 'public', 'The console’s scripts and styles (immutable, hashed)'),
  op('get', '/api/v1/console/setup', 'console', 'public', 'Whether the first-run setup is still to be done', {
    answer: { status: 200, body: consoleResponses.setupNeeded },
  }),
  op('post', '/api/v1/console/setup', 'console', 'public', 'First run: owner account + first program (setup token)', {
    body: consoleInputs.setupInput,
    answer: { status: 201, body: consoleResponses.setup },
  }),
  op('post', '/api/v1/console/login', 'console', 'public', 'Log in to the console', {
    body: consoleInputs.consoleLoginInput,
    answer: { status: 200, body: consoleResponses.session },
  }),
  op('post', '/api/v1/console/invite/accept', 'console', 'public', 'Set a password with an invitation, and log in', {
    body: consoleInputs.acceptInviteInput,
    answer: { status: 200, body: consoleResponses.session },
  }),
  op('get', '/api/v1/console/me', 'console', 'consoleSession', 'Who is logged in, the CSRF token, the programs', {
    answer: { status: 200, body: consoleResponses.me },
  }),
  op('post', '/api/v1/console/logout', 'console', 'consoleSession', 'Log out (here or everywhere)', {
    answer: { status: 204 },
  }),
  op('get', '/api/v1/console/team', 'console', 'consoleSession', 'The program’s members and their roles', {
    answer: { status: 200, body: consoleResponses.team },
  }),
  op('post', '/api/v1/console/team', 'console', 'consoleSession', 'Invite a member (owner, admin)', {
    body: consoleInputs.inviteInput,
    answer: { status: 201, body: consoleResponses.invited },
  }),
  op('delete', '/api/v1/console/team/{userId}', 'console', 'consoleSession', 'Remove a member (owner, admin)', {
    answer: { status: 204 },
  }),
  op('get', '/api/v1/console/onboarding', 'console', 'consoleSession', 'The onboarding checklist, read live', {
    answer: { status: 200, body: consoleResponses.onboarding },
  }),
  op(
    'get',
    '/api/v1/commissions/export',
    'commissions',
    'apiKey',
    'Commissions as CSV (the list’s filters, newest first, streamed; formula-guarded cells)',
    { query: exportCommissionsInput },
  ),
  op(
    'post',
    '/api/v1/commissions/bulk',
    'commissions',
    'apiKey',
    'Approve or reject up to 100 commissions: one result per id (changed, unchanged, or error with its code)',
    { body: bulkDecisionInput },
  ),
  op('get', '/api/v1/affiliates/export', 'affiliates', 'apiKey', 'The filtered, sorted affiliates as a CSV file', {
    query: exportAffiliatesInput,
  }),
  op(
    'post',
    '/api/v1/affiliates/import',
    'affiliates',
    'apiKey',
    'Import affiliates from a CSV file (body: text/csv `email,name,code`, ≤ 1 MB, ≤ 5000 rows); one result per row',
    { query: importAffiliatesInput },
  ),
];

/**
 * What each admin operation answers on success: its status and body shape (`<concept>.schemas.ts`), keyed by
 * `"<method> <path>"`; 204 answers have no body. test/integration/openapi-responses.test.ts checks real answers
 * against these shapes, and that every admin operation has one.
 */
/** A success answer: its status (a second one for the conversions API's idempotent replay), body shape or CSV. */
interface SuccessAnswer {
  status: 200 | 201 | 204;
  /** Also answered with this status (e.g. 200 for a replayed or duplicate request). */
  or?: 200;
  body?: z.ZodType;
  /** A CSV file (`text/csv`) rather than JSON. */
  csv?: true;
}

const RESPONSES: Record<string, SuccessAnswer> = {
  'get /api/v1/program': { status: 200, body: programResponses.settings },
  'get /api/v1/stats': { status: 200, body: programResponses.stats },
  'get /api/v1/stats/daily': { status: 200, body: programResponses.dailyStats },
  'patch /api/v1/program': { status: 200, body: programResponses.settings },
  'get /api/v1/affiliates': { status: 200, body: affiliateResponses.list },
  'post /api/v1/affiliates': { status: 201, body: affiliateResponses.withLink },
  'get /api/v1/affiliates/{id}': { status: 200, body: affiliateResponses.one },
  'patch /api/v1/affiliates/{id}': { status: 200, body: affiliateResponses.one },
  'delete /api/v1/affiliates/{id}': { status: 204 },
  'post /api/v1/affiliates/{id}/approve': { status: 200, body: affiliateResponses.withLink },
  'post /api/v1/affiliates/{id}/reject': { status: 200, body: affiliateResponses.plain },
  'post /api/v1/affiliates/{id}/suspend': { status: 200, body: affiliateResponses.plain },
  'post /api/v1/affiliates/{id}/invite': { status: 200, body: affiliateResponses.invited },
  'get /api/v1/links': { status: 200, body: linkResponses.list },
  'post /api/v1/links': { status: 201, body: linkResponses.one },
  'patch /api/v1/links/{id}': { status: 200, body: linkResponses.one },
  'delete /api/v1/links/{id}': { status: 200, body: linkResponses.one },
  'get /api/v1/conversions': { status: 200, body: conversionResponses.list },
  'post /api/v1/conversions': { status: 201, or: 200, body: conversionResponses.created },
  'get /api/v1/commissions': { status: 200, body: commissionResponses.list },
  'get /api/v1/commissions/{id}': { status: 200, body: commissionResponses.detail },
  'post /api/v1/commissions/{id}/approve': { status: 200, body: commissionResponses.one },
  'post /api/v1/commissions/{id}/reject': { status: 200, body: commissionResponses.one },
  'get /api/v1/commission-rules': { status: 200, body: ruleResponses.list },
  'post /api/v1/commission-rules': { status: 201, body: ruleResponses.one },
  'get /api/v1/commission-rules/{id}': { status: 200, body: ruleResponses.one },
  'patch /api/v1/commission-rules/{id}': { status: 200, body: ruleResponses.one },
  'delete /api/v1/commission-rules/{id}': { status: 200, body: ruleResponses.one },
  'post /api/v1/commission-rules/preview': { status: 200, body: ruleResponses.preview },
  'get /api/v1/balances': { status: 200, body: payoutResponses.balances },
  'get /api/v1/payouts': { status: 200, body: payoutResponses.list },
  'get /api/v1/payouts/{id}': { status: 200, body: payoutResponses.detail },
  'post /api/v1/payouts/{id}/process': { status: 200, body: payoutResponses.one },
  'post /api/v1/payouts/{id}/complete': { status: 200, body: payoutResponses.one },
  'post /api/v1/payouts/{id}/fail': { status: 200, body: payoutResponses.one },
  'get /api/v1/stripe-events': { status: 200, body: stripeResponses.events },
  'get /api/v1/stripe-events/{id}': { status: 200, body: stripeResponses.event },
  'get /api/v1/promotion-codes': { status: 200, body: stripeResponses.promotionCodes },
  'post /api/v1/promotion-codes': { status: 201, body: stripeResponses.promotionCode },
  'delete /api/v1/promotion-codes/{id}': { status: 204 },
  'post /api/v1/payouts': { status: 201, body: payoutResponses.one },
  'post /api/v1/payouts/pay-all': { status: 200, body: payoutResponses.payAll },
  'get /api/v1/payouts/export': { status: 200, csv: true },
  'get /api/v1/api-keys': { status: 200, body: programResponses.apiKeys },
  'post /api/v1/api-keys': { status: 201, body: programResponses.createdApiKey },
  'delete /api/v1/api-keys/{id}': { status: 200, body: programResponses.apiKey },
  'post /api/v1/api-keys/{id}/rotate': { status: 201, body: programResponses.createdApiKey },
  'get /api/v1/webhook-secrets': { status: 200, body: programResponses.webhookSecrets },
  'post /api/v1/webhook-secrets': { status: 201, body: programResponses.webhookSecrets },
  'delete /api/v1/webhook-secrets/{id}': { status: 200, body: programResponses.webhookSecrets },
  // The partner dashboard's API (its types come from the same shapes: dashboard/src/types.ts).
  'get /api/v1/partner/programs/{programId}': { status: 200, body: partnerResponses.program },
  'get /api/v1/partner/me': { status: 200, body: partnerResponses.me },
  'get /api/v1/partner/overview': { status: 200, body: partnerResponses.overview },
  'get /api/v1/partner/stats': { status: 200, body: partnerResponses.stats },
  'get /api/v1/partner/links': { status: 200, body: partnerResponses.links },
  'post /api/v1/partner/links': { status: 201, body: partnerResponses.link },
  'get /api/v1/partner/referrals': { status: 200, body: partnerResponses.referrals },
  'get /api/v1/partner/commissions': { status: 200, body: partnerResponses.commissions },
  'get /api/v1/partner/commissions.csv': { status: 200, csv: true },
  'get /api/v1/partner/commissions/{id}': { status: 200, body: partnerResponses.commission },
  'get /api/v1/partner/payouts': { status: 200, body: partnerResponses.payouts },
  'get /api/v1/partner/payouts/{id}': { status: 200, body: partnerResponses.payout },
  'get /api/v1/partner/payout-settings': { status: 200, body: partnerResponses.payoutSettings },
  'put /api/v1/partner/payout-settings': { status: 200, body: partnerResponses.payoutSettings },
  'get /api/v1/webhook-endpoints': { status: 200, body: webhookEndpointResponses.list },
  'post /api/v1/webhook-endpoints': { status: 201, body: webhookEndpointResponses.withSecret },
  'get /api/v1/webhook-endpoints/{id}': { status: 200, body: webhookEndpointResponses.one },
  'patch /api/v1/webhook-endpoints/{id}': { status: 200, body: webhookEndpointResponses.one },
  'delete /api/v1/webhook-endpoints/{id}': { status: 204 },
  'post /api/v1/webhook-endpoints/{id}/rotate-secret': { status: 200, body: webhookEndpointResponses.withSecret },
  'get /api/v1/webhook-endpoints/{id}/deliveries': { status: 200, body: webhookEndpointResponses.deliveries },
  'post /api/v1/webhook-endpoints/{id}/deliveries/{deliveryId}/redeliver': {
    status: 200,
    body: webhookEndpointResponses.delivery,
  },
  'get /api/v1/earnings/yearly': { status: 200, body: earningsResponses.yearly },
  'get /api/v1/earnings/yearly.csv': { status: 200, csv: true },
  'get /api/v1/affiliates/{id}/tax-info': { status: 200, body: taxInfoResponses.one },
  'get /api/v1/affiliates/export': { status: 200, csv: true },
  'post /api/v1/affiliates/import': { status: 200, body: affiliateResponses.imported },
  'get /api/v1/partner/payouts/{id}/statement.csv': { status: 200, csv: true },
  'get /api/v1/partner/earnings': { status: 200, body: earningsResponses.partnerYear },
  'get /api/v1/partner/tax-info': { status: 200, body: taxInfoResponses.partner },
  'put /api/v1/partner/tax-info': { status: 200, body: taxInfoResponses.partner },
  'get /api/v1/partner/stripe-connect': { status: 200, body: earningsResponses.connectStatus },
  'get /api/v1/commissions/export': { status: 200, csv: true },
  'post /api/v1/commissions/bulk': { status: 200, body: commissionResponses.bulk },
  'post /api/v1/stripe-events/{id}/replay': { status: 200, body: stripeResponses.replay },
  'get /api/v1/program/stripe-key': { status: 200, body: stripeResponses.keyStatus },
  'post /api/v1/program/stripe-key/test': { status: 200, body: stripeResponses.keyTest },
};

/** The documented success answer of an operation, or undefined when it is documented only as "Success". */
export function documentedResponse(method: string, path: string): SuccessAnswer | undefined {
  return RESPONSES[`${method.toLowerCase()} ${path}`];
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'input'): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

function successResponse(o: Operation): Record<string, unknown> {
  const documented = o.answer ?? documentedResponse(o.method, o.path);
  if (!documented) return { '2XX': { description: 'Success' } };
  if (documented.csv)
    return {
      [documented.status]: { description: 'A CSV file', content: { 'text/csv': { schema: { type: 'string' } } } },
    };
  if (!documented.body) return { [documented.status]: { description: 'Done (no body)' } };
  const answer = {
    description: documented.status === 201 ? 'Created' : 'Success',
    content: { 'application/json': { schema: jsonSchema(documented.body, 'output') } },
  };
  return {
    [documented.status]: answer,
    ...(documented.or ? { [documented.or]: { ...answer, description: 'The same request again (replayed)' } } : {}),
  };
}

const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' } },
    },
  },
};

/** Build the document for a server reachable at `publicUrl`. */
export function openApiDocument(publicUrl: string, version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const o of OPERATIONS) {
    const parameters: unknown[] = [...o.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    if (o.query) {
      const s = jsonSchema(o.query) as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, schema] of Object.entries(s.properties ?? {}))
        parameters.push({ name, in: 'query', required: s.required?.includes(name) ?? false, schema });
    }
    const security =
      o.auth === 'apiKey'
        ? [{ apiKey: [] }, { consoleSession: [] }]
        : o.auth === 'session'
          ? [{ partnerSession: [] }]
          : o.auth === 'consoleSession'
            ? [{ consoleSession: [] }]
            : o.auth === 'stripeSignature'
              ? [{ stripeSignature: [] }]
              : [];
    paths[o.path] ??= {};
    paths[o.path]![o.method] = {
      summary: o.summary,
      tags: [o.tag],
      security,
      ...(parameters.length ? { parameters } : {}),
      ...(o.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(o.body) } } } }
        : {}),
      responses: {
        ...successResponse(o),
        '4XX': {
          description: 'Client error',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
        '503': {
          description: 'The database is unavailable (code `database_unavailable`): retry after `Retry-After` seconds',
          headers: { 'Retry-After': { schema: { type: 'integer' } } },
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'partnerkit API',
      version,
      description:
        'Amounts are integer minor units with a lower-case ISO 4217 currency; rates are basis points (10 % = 1000).',
    },
    servers: [{ url: publicUrl }],
    paths,
    // Outgoing webhooks: the events partnerkit POSTs to the merchant's endpoints (OpenAPI 3.1 `webhooks`).
    webhooks: outgoingWebhooksDocument(),
    components: {
      schemas: { Error: errorSchema },
      securitySchemes: {
        apiKey: {
          type: 'http',
          scheme: 'bearer',
          description: 'The program’s API key (printed once by `program create`)',
        },
        partnerSession: {
          type: 'apiKey',
          in: 'cookie',
          name: 'pk_session',
          description: 'Partner session; state changes also need the X-CSRF-Token header',
        },
        consoleSession: {
          type: 'apiKey',
          in: 'cookie',
          name: 'pk_console',
          description:
            'Merchant console session: opens the console API and the admin API for the programs its user belongs to ' +
            '(X-Partnerkit-Program names one; needed with several); state changes also need X-CSRF-Token, and a ' +
            'viewer’s are refused (403 read_only)',
        },
        stripeSignature: { type: 'apiKey', in: 'header', name: 'Stripe-Signature' },
      },
    },
  };
}

export function openApiRoutes(publicUrl: string, version: string): Router {
  const router = new Router();
  let cached: Record<string, unknown> | null = null;
  router.get('/api/v1/openapi.json', (ctx) => {
    cached ??= openApiDocument(publicUrl, version);
    ctx.set('Access-Control-Allow-Origin', '*');
    ctx.body = cached;
  });
  return router;
}
