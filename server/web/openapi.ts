/**
 * `GET /api/v1/openapi.json`: the HTTP API as an OpenAPI 3.1 document. Request bodies and query parameters
 * are generated from the same zod schemas the services validate with (`z.toJSONSchema`), so the document
 * cannot drift from what the server accepts. Public: it describes the API, it grants nothing.
 */
import Router from '@koa/router';
import { z } from 'zod';
import { createAffiliateInput, listAffiliatesInput, updateAffiliateInput } from '../affiliates/affiliates.service.ts';
import { createLinkInput, listLinksInput, updateLinkInput } from '../links/links.service.ts';
import { createApiKeyInput, webhookSecretInput } from '../programs/credentials.service.ts';
import { createConversionInput, listConversionsInput } from '../conversions/conversions.service.ts';
import { decideCommissionInput, listCommissionsInput } from '../commissions/commissions.service.ts';
import { listRulesInput, ruleInput } from '../commissions/commission-rules.service.ts';
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
import { statsInput } from '../programs/stats.service.ts';
import { createPromotionCodeInput, listPromotionCodesInput } from '../stripe/stripe-settings.service.ts';
import { listStripeEventsInput } from '../stripe/stripe-events.service.ts';
import { clickInput, leadInput } from '../tracking/tracking.service.ts';
import * as partnerInputs from '../partner/partner.service.ts';

type Auth = 'apiKey' | 'session' | 'public' | 'stripeSignature';
interface Operation {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete' | 'options';
  path: string;
  summary: string;
  tag: string;
  auth: Auth;
  body?: z.ZodType;
  query?: z.ZodType;
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
  op('get', '/api/v1/stats', 'program', 'apiKey', 'Program at a glance', { query: statsInput }),
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
  op('post', '/api/v1/affiliates/{id}/reject', 'affiliates', 'apiKey', 'Reject an application'),
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
];

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return rest;
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
        ? [{ apiKey: [] }]
        : o.auth === 'session'
          ? [{ partnerSession: [] }]
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
        '2XX': { description: 'Success' },
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
