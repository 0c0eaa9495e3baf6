/** The public shapes of a program's settings and credentials (what the admin API answers), for the OpenAPI document. */
import { z } from 'zod';
import { brandingShape, currencyOut, isoInstant, minorAmount, sameShape } from '../lib/schemas.ts';
import type { ApiKey, CreatedApiKey, WebhookSecret } from './credentials.service.ts';
import type { ProgramSettings } from './programs.service.ts';
import type { DailyStats, StatsService } from './stats.service.ts';

export const programSettingsShape = z.strictObject({
  id: z.string(),
  name: z.string(),
  website: z.url(),
  currency: currencyOut,
  publicKey: z.string(),
  defaultRateBps: z.int(),
  cookieDays: z.int(),
  holdDays: z.int(),
  attributionModel: z.enum(['first_click', 'last_click']),
  minPayoutAmount: minorAmount,
  allowedDomains: z.array(z.string()),
  payoutSchedule: z.string(),
  nextPayoutAt: isoInstant.nullable(),
  fraudIpDailyLimit: z.int().nullable(),
  stripeApiKeySet: z.boolean(),
  notificationEmail: z.string().nullable(),
  branding: brandingShape,
});
sameShape<z.output<typeof programSettingsShape>, ProgramSettings>(true);

export const apiKeyShape = z.strictObject({
  id: z.string(),
  name: z.string().nullable(),
  prefix: z.string(),
  createdAt: isoInstant,
  lastUsedAt: isoInstant.nullable(),
  revokedAt: isoInstant.nullable(),
});
sameShape<z.output<typeof apiKeyShape>, ApiKey>(true);
const createdApiKeyShape = apiKeyShape.extend({ key: z.string().startsWith('sk_pk_') });
sameShape<z.output<typeof createdApiKeyShape>, CreatedApiKey>(true);

export const webhookSecretShape = z.strictObject({
  id: z.string(),
  hint: z.string().nullable(),
  createdAt: isoInstant,
  retiredAt: isoInstant.nullable(),
});
sameShape<z.output<typeof webhookSecretShape>, WebhookSecret>(true);

/**
 * `GET /api/v1/stats`: the program's funnel (counts), affiliates per status, sales per currency and commission
 * buckets per currency (minor units), over the last `period.days` days or all time. `conversionRate`: customers ÷
 * clicks (0 without clicks).
 */
export const statsShape = z.strictObject({
  period: z.strictObject({ days: z.int().nullable(), since: isoInstant.nullable() }),
  affiliates: z.record(z.string(), z.int()),
  clicks: z.int(),
  visitors: z.int(),
  leads: z.int(),
  customers: z.int(),
  conversionRate: z.number(),
  sales: z.array(
    z.strictObject({ currency: currencyOut, sales: z.int(), revenue: minorAmount, refunded: minorAmount }),
  ),
  commissions: z.array(
    z.strictObject({
      currency: currencyOut,
      pending: minorAmount,
      onHold: minorAmount,
      approved: minorAmount,
      clawbacks: minorAmount,
      inPayouts: minorAmount,
      paid: minorAmount,
      balance: minorAmount,
    }),
  ),
});
sameShape<
  { [K in keyof z.output<typeof statsShape>]: z.output<typeof statsShape>[K] },
  Awaited<ReturnType<StatsService['stats']>>
>(true);
const perCurrencySeries = z.array(z.strictObject({ currency: currencyOut, amounts: z.array(minorAmount) }));
export const dailyStatsShape = z.strictObject({
  days: z.int(),
  dates: z.array(z.iso.date()),
  clicks: z.array(z.int()),
  leads: z.array(z.int()),
  sales: z.array(z.int()),
  revenue: perCurrencySeries,
  commissions: perCurrencySeries,
  topAffiliates: z.array(
    z.strictObject({ id: z.string(), name: z.string(), code: z.string(), clicks: z.int(), sales: z.int() }),
  ),
  topLinks: z.array(
    z.strictObject({
      id: z.string(),
      slug: z.string(),
      campaign: z.string().nullable(),
      affiliate: z.strictObject({ id: z.string(), name: z.string() }),
      clicks: z.int(),
      sales: z.int(),
      revenue: z.array(z.strictObject({ currency: currencyOut, amount: minorAmount })),
    }),
  ),
});
sameShape<z.output<typeof dailyStatsShape>, DailyStats>(true);

export const programResponses = {
  dailyStats: dailyStatsShape,
  settings: z.strictObject({ program: programSettingsShape }),
  apiKeys: z.strictObject({ data: z.array(apiKeyShape) }),
  apiKey: z.strictObject({ apiKey: apiKeyShape }),
  createdApiKey: z.strictObject({ apiKey: createdApiKeyShape }),
  webhookSecrets: z.strictObject({ data: z.array(webhookSecretShape) }),
  stats: statsShape,
};
