/**
 * Shapes of the admin and console API as the console reads them, taken from the server's own response schemas
 * (`server/<concept>/<concept>.schemas.ts`, each held to its service's return type at compile time, and the same
 * shapes OpenAPI documents and test/integration/openapi-responses.test.ts checks real answers against) rather than
 * kept here by hand. Money: integer minor units + currency. Type-only: nothing of the server reaches the bundle.
 */
import type { z } from 'zod';
import type { consoleResponses } from '../../../server/console/console.schemas.ts';
import type { payoutResponses } from '../../../server/payouts/payouts.schemas.ts';
import type { affiliateResponses } from '../../../server/affiliates/affiliates.schemas.ts';
import type { commissionResponses, ruleResponses } from '../../../server/commissions/commissions.schemas.ts';
import type { conversionResponses } from '../../../server/conversions/conversions.schemas.ts';
import type { programResponses } from '../../../server/programs/programs.schemas.ts';
import type { stripeResponses } from '../../../server/stripe/stripe.schemas.ts';

type Out<S extends z.ZodType> = z.output<S>;

/** `GET /api/v1/console/me`. */
export type ConsoleMe = Out<typeof consoleResponses.me>;
export type Role = ConsoleMe['programs'][number]['role'];
/** `GET /api/v1/console/team`: one member. */
export type Member = Out<typeof consoleResponses.team>['members'][number];
/** `GET /api/v1/console/onboarding`: the checklist. */
export type Onboarding = Out<typeof consoleResponses.onboarding>['onboarding'];
/** `GET /api/v1/balances`: what is due to one affiliate in one currency. */
export type Balance = Out<typeof payoutResponses.balances>['data'][number];
/** `GET /api/v1/payouts`: one payout. */
export type Payout = Out<typeof payoutResponses.list>['data'][number];
/** `POST /api/v1/payouts/pay-all`. */
export type PayAllResult = Out<typeof payoutResponses.payAll>;
/** `GET /api/v1/affiliates`: one affiliate (with its application). */
export type AffiliateRow = Out<typeof affiliateResponses.list>['data'][number];
/** `GET /api/v1/commission-rules`: one rule (amounts per currency in minor units, rates in basis points). */
export type CommissionRule = Out<typeof ruleResponses.list>['data'][number];
/** `POST /api/v1/commission-rules/preview`: what a conversion would earn, by which rule. */
export type CommissionPreview = Out<typeof ruleResponses.preview>;
/** `GET /api/v1/program`: every setting `PATCH /api/v1/program` takes, and the branding. */
export type ProgramSettings = Out<typeof programResponses.settings>['program'];
/** `GET /api/v1/stats/daily`: the overview's series, top affiliates and top links. */
export type DailyStats = Out<typeof programResponses.dailyStats>;
/** `GET /api/v1/api-keys`: one key (never its secret). */
export type ApiKey = Out<typeof programResponses.apiKeys>['data'][number];
/** `GET /api/v1/webhook-secrets`: one Stripe signing secret (its hint only). */
export type WebhookSecret = Out<typeof programResponses.webhookSecrets>['data'][number];
/** `GET /api/v1/stripe-events/:id`: one inbox event with its payload (the list leaves the payload out). */
export type StripeEvent = Out<typeof stripeResponses.event>['event'];
/** `GET /api/v1/program/stripe-key`. */
export type StripeKeyStatus = Out<typeof stripeResponses.keyStatus>['stripeKey'];
/** `POST /api/v1/program/stripe-key/test`. */
export type StripeKeyTest = Out<typeof stripeResponses.keyTest>['test'];
/** `GET /api/v1/stats`: a program's (or, with `affiliateId`, one affiliate's) clicks, funnel and sales. */
export type Stats = Out<typeof programResponses.stats>;
/** `GET /api/v1/conversions`: one conversion. */
export type Conversion = Out<typeof conversionResponses.list>['data'][number];
/** `GET /api/v1/commissions`: one commission. */
export type Commission = Out<typeof commissionResponses.list>['data'][number];
