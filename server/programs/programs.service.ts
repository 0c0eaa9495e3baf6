/**
 * Programs (tenants): creation with their keys, and look-ups by key.
 */
import { z } from 'zod';
import { CronExpressionParser } from 'cron-parser';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { Transaction } from 'kysely';
import type { Database, ProgramRow } from '../db/schema.ts';
import { newId, newSecret, hashSecret } from '../lib/ids.ts';
import { isStorableText, NOT_STORABLE, parseInput, storableText } from '../lib/validate.ts';
import { stripeApiKeyInput } from '../stripe/stripe-settings.service.ts';
import { registrableDomain } from '../lib/registrable-domain.ts';
import type { ProgramSecrets } from './program-secrets.ts';
import * as repo from './programs.repository.ts';
import { touchApiKey } from './credentials.repository.ts';
import { currencyCode, webhookSigningSecret } from '../lib/schemas.ts';
import { brandingInput, brandingPatch, toBranding, type Branding } from './branding.ts';

export const createProgramInput = z.object({
  name: storableText().trim().min(1).max(200),
  website: z.url({ protocol: /^https?$/ }).refine(isStorableText, NOT_STORABLE),
  currency: currencyCode.default('usd'),
  stripeWebhookSecret: webhookSigningSecret.optional(),
});
export type CreateProgramInput = z.input<typeof createProgramInput>;

/** What `program create` prints: the API key appears here once and is stored only as a hash. */
export interface CreatedProgram {
  id: string;
  publicKey: string;
  apiKey: string;
  webhookUrl: string;
  snippet: string;
}

/** The public shape of a program's settings. */
export interface ProgramSettings {
  id: string;
  name: string;
  website: string;
  currency: string;
  publicKey: string;
  defaultRateBps: number;
  cookieDays: number;
  holdDays: number;
  attributionModel: 'first_click' | 'last_click';
  minPayoutAmount: number;
  allowedDomains: string[];
  /** Cron expression (UTC) of the `generate-payouts` schedule; default `0 0 1 * *` (monthly on the 1st). */
  payoutSchedule: string;
  /** The next scheduled payout run. */
  nextPayoutAt: string | null;
  /** Fraud check: conversions from one IP per affiliate per 24 h above this are held; null = off. */
  fraudIpDailyLimit: number | null;
  /** Whether a Stripe API key for Connect transfers is stored (the key itself is never shown). */
  stripeApiKeySet: boolean;
  /** Where the merchant team's e-mails go (new applications, holds, payout runs, failed Stripe events); null = none. */
  notificationEmail: string | null;
  /** Logo and accent colour of the partner dashboard, its pages and the e-mails (`branding.ts`). */
  branding: Branding;
}

/** The next occurrence of a payout schedule after `at`, or null when the expression is invalid. */
export function nextPayoutAt(schedule: string, at: Date = new Date()): Date | null {
  try {
    return CronExpressionParser.parse(schedule, { currentDate: at, tz: 'UTC' }).next().toDate();
  } catch {
    return null;
  }
}

/** A 5-field cron expression (minute hour day-of-month month day-of-week), evaluated in UTC. */
const cronSchedule = z
  .string()
  .trim()
  .min(9)
  .max(100)
  .refine(
    (v) => v.split(/\s+/).length === 5 && nextPayoutAt(v) !== null,
    'must be a 5-field cron expression, e.g. "0 0 1 * *"',
  );

/** The most other domains one program may name in `allowedDomains`. */
export const MAX_ALLOWED_DOMAINS = 20;

/**
 * `allowedDomains`: at most MAX_ALLOWED_DOMAINS host names (`shop-eu.com`, `www.shop-eu.com`), each stored as its
 * registrable domain (`lib/registrable-domain.ts`, Public Suffix List with its private section), lower-cased and
 * without repeats, since that is what the `Origin` and link checks compare. Refused: what is not a host name, IP
 * addresses, `localhost`, and public suffixes themselves (`co.uk`, `github.io`: they would allow every site on them).
 */
export const allowedDomainsInput = z
  .array(
    z
      .string()
      .trim()
      .toLowerCase()
      .max(253)
      .regex(z.regexes.hostname, 'must be a host name, e.g. shop-eu.com')
      .refine(
        (host) => registrableDomain(host) !== null,
        'must be a registrable domain, e.g. shop-eu.com (not an IP address, localhost or a public suffix such as co.uk)',
      )
      .transform((host) => registrableDomain(host)!),
  )
  .max(MAX_ALLOWED_DOMAINS)
  .transform((domains) => [...new Set(domains)]);

/** What the merchant may change with `PATCH /api/v1/program`; omitted fields stay as they are. */
export const updateSettingsInput = z
  .object({
    name: storableText().trim().min(1).max(200),
    defaultRateBps: z.number().int().min(0).max(10_000),
    cookieDays: z.number().int().min(1).max(3650),
    holdDays: z.number().int().min(0).max(3650),
    attributionModel: z.enum(['first_click', 'last_click']),
    minPayoutAmount: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    payoutSchedule: cronSchedule,
    fraudIpDailyLimit: z.number().int().min(1).max(1_000_000).nullable(),
    /**
     * The Stripe key webhook processing reads missing data with (`stripe-settings.service.ts`); `stripe_connect`
     * payouts need it to have `transfers` write access too. null removes it.
     */
    stripeApiKey: stripeApiKeyInput.nullable(),
    /**
     * The merchant's other root domains (the snippet's `data-domains`): their pages may send clicks (`Origin`
     * check) and links may point at them. Replaces the list; `[]` clears it.
     */
    allowedDomains: allowedDomainsInput,
    /** The merchant team's address for notification e-mails (issue 21); null stops them. */
    notificationEmail: z.email().max(320).nullable(),
    /** Logo (`https:` URL) and accent colour (`#rrggbb`); a null field clears it, `branding: null` both. */
    branding: brandingInput,
  })
  .partial()
  .strict();

export function toProgramSettings(p: ProgramRow): ProgramSettings {
  return {
    id: p.id,
    name: p.name,
    website: p.website,
    currency: p.currency,
    publicKey: p.public_key,
    defaultRateBps: p.default_rate_bps,
    cookieDays: p.cookie_days,
    holdDays: p.hold_days,
    attributionModel: p.attribution_model,
    minPayoutAmount: p.min_payout_amount,
    allowedDomains: p.allowed_domains,
    payoutSchedule: p.payout_schedule,
    nextPayoutAt: nextPayoutAt(p.payout_schedule)?.toISOString() ?? null,
    fraudIpDailyLimit: p.fraud_ip_daily_limit,
    stripeApiKeySet: Boolean(p.stripe_api_key),
    notificationEmail: p.notification_email,
    branding: toBranding(p),
  };
}

/** @param deps.programSecrets seals the Stripe key and webhook secrets before they are stored (`program-secrets.ts`) */
export function createProgramsService(deps: { db: Db; config: Config; programSecrets: ProgramSecrets }) {
  const { db, config, programSecrets } = deps;
  return {
    /**
     * Create a program with the defaults (10 % = 1000 bp, 30-day cookie window, 30-day hold period,
     * last-click, 50.00 minimum payout in the program currency's minor units), one API key and,
     * when given, a Stripe webhook signing secret.
     * @param inTrx run inside this transaction instead of one of its own (the console's first-run setup creates the
     *   owner and the program together)
     * @throws ValidationError on bad input
     */
    async create(input: CreateProgramInput, inTrx?: Transaction<Database>): Promise<CreatedProgram> {
      const data = parseInput(createProgramInput, input);
      const apiKey = newSecret('sk_pk');
      const inTransaction = <T>(run: (trx: Transaction<Database>) => Promise<T>) =>
        inTrx ? run(inTrx) : db.transaction().execute(run);
      const program = await inTransaction(async (trx) => {
        const program = await repo.insertProgram(trx, {
          id: newId('prg'),
          name: data.name,
          website: new URL(data.website).origin,
          currency: data.currency,
          public_key: newId('pk'),
        });
        await repo.insertApiKey(trx, {
          id: newId('key'),
          program_id: program.id,
          key_hash: hashSecret(apiKey),
          key_prefix: apiKey.slice(0, 12),
        });
        if (data.stripeWebhookSecret) await programSecrets.addWebhookSecret(program.id, data.stripeWebhookSecret, trx);
        return program;
      });
      return {
        id: program.id,
        publicKey: program.public_key,
        apiKey,
        webhookUrl: `${config.publicUrl}/api/v1/webhooks/stripe/${program.id}`,
        snippet: `<script async src="${config.publicUrl}/pk.js" data-key="${program.public_key}"></script>`,
      };
    },

    /**
     * Add a Stripe webhook signing secret (several may be active during rotation); stored encrypted, once.
     * @throws ValidationError; NotFoundError `unknown_program`
     */
    async addWebhookSecret(programId: string, secret: string): Promise<void> {
      parseInput(webhookSigningSecret, secret);
      await programSecrets.addWebhookSecret(programId, secret);
    },

    /**
     * The program owning this API key, or undefined (revoked or unknown). A key that opens its program is noted as
     * used (`api_keys.last_used_at`, at most one write a minute per key).
     */
    async findByApiKey(apiKey: string) {
      const keyHash = hashSecret(apiKey);
      const program = await repo.findProgramByApiKeyHash(db, keyHash);
      if (program) await touchApiKey(db, keyHash, new Date());
      return program;
    },

    findByPublicKey(publicKey: string) {
      return repo.findProgramByPublicKey(db, publicKey);
    },

    findById(id: string) {
      return repo.findProgramById(db, id);
    },

    /** The program's active webhook signing secrets in plain text, newest first. @throws SecretDecryptionError */
    webhookSecrets(programId: string) {
      return programSecrets.webhookSecrets(programId);
    },

    /** The program's settings (`GET /api/v1/program`). */
    settings(program: ProgramRow): ProgramSettings {
      return toProgramSettings(program);
    },

    /**
     * Change settings (`PATCH /api/v1/program`). New values apply to what happens next: commissions already
     * created keep their rate and `payable_at`; referrals keep the window they got at their click.
     * @throws ValidationError naming the field
     */
    async updateSettings(program: ProgramRow, input: unknown): Promise<ProgramSettings> {
      const d = parseInput(updateSettingsInput, input ?? {});
      const row = await repo.updateProgram(db, program.id, {
        ...(d.name !== undefined ? { name: d.name } : {}),
        ...(d.defaultRateBps !== undefined ? { default_rate_bps: d.defaultRateBps } : {}),
        ...(d.cookieDays !== undefined ? { cookie_days: d.cookieDays } : {}),
        ...(d.holdDays !== undefined ? { hold_days: d.holdDays } : {}),
        ...(d.attributionModel !== undefined ? { attribution_model: d.attributionModel } : {}),
        ...(d.minPayoutAmount !== undefined ? { min_payout_amount: d.minPayoutAmount } : {}),
        ...(d.payoutSchedule !== undefined ? { payout_schedule: d.payoutSchedule.split(/\s+/).join(' ') } : {}),
        ...(d.fraudIpDailyLimit !== undefined ? { fraud_ip_daily_limit: d.fraudIpDailyLimit } : {}),
        ...(d.allowedDomains !== undefined ? { allowed_domains: d.allowedDomains } : {}),
        ...(d.notificationEmail !== undefined ? { notification_email: d.notificationEmail } : {}),
        ...brandingPatch(d.branding),
        ...(d.stripeApiKey !== undefined
          ? { stripe_api_key: d.stripeApiKey === null ? null : programSecrets.sealApiKey(program.id, d.stripeApiKey) }
          : {}),
      });
      return toProgramSettings(row);
    },
  };
}
export type ProgramsService = ReturnType<typeof createProgramsService>;
