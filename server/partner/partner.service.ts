/**
 * The partner side: public applications, one-time "set your password" / reset links, password login with a
 * rate limit and an account lockout, server-side sessions stored in PostgreSQL (the cookie carries a random
 * id; we store only its SHA-256), and the affiliate's own numbers, links, referrals, commissions, payouts and
 * payout method settings.
 *
 * Isolation: every read and write below takes the affiliate from the authenticated session
 * (`AuthenticatedPartner`), never from the request, and every query filters on it; an id that belongs to
 * another affiliate is answered like an unknown one (404).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { consumeAll, sharedRateLimiter } from '../db/shared-rate-limiter.ts';
import { CronExpressionParser } from 'cron-parser';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import type {
  AffiliateRow,
  CommissionStatus,
  PartnerPayoutMethod,
  PayoutMethod,
  PayoutStatus,
  ProgramRow,
} from '../db/schema.ts';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  RateLimitedError,
  UnauthorizedError,
  UnprocessableError,
  ValidationError,
} from '../lib/errors.ts';
import { hashSecret, newId, newSecret } from '../lib/ids.ts';
import { idFilter, isStorableText, NOT_STORABLE, parseInput, storableText } from '../lib/validate.ts';
import * as affiliatesRepo from '../affiliates/affiliates.repository.ts';
import { AFFILIATE_CODE, referralLink } from '../affiliates/affiliates.service.ts';
import { findProgramById } from '../programs/programs.repository.ts';
import { leadCount } from '../programs/stats.repository.ts';
import { destinationUrlInput, isMerchantUrl } from '../links/links.service.ts';
import { insertLink } from '../links/links.repository.ts';
import type { Mailer } from '../mail/mailer.ts';
import { minimumPayout } from '../payouts/payouts.service.ts';
import { decoyHash, hashPassword, MIN_PASSWORD_LENGTH, verifyPassword } from './passwords.ts';
import { commissionRule, formatDecimal, maskEmail, type CommissionRule } from './partner.format.ts';
import * as mails from './partner.mails.ts';
import * as repo from './partner.repository.ts';
import { coalesced } from '../lib/coalesce.ts';

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
export const SET_PASSWORD_TTL_DAYS = 7;
/** Reset links are short-lived: they are requested by whoever knows the e-mail address. */
export const RESET_PASSWORD_TTL_MINUTES = 60;
export const SESSION_TTL_DAYS = 30;
/** Consecutive failed logins that lock an account, and for how long (OWASP: lock out, but not forever). */
export const LOCKOUT_THRESHOLD = 10;
export const LOCKOUT_MINUTES = 15;
/** Failed logins per e-mail + IP, and per IP across e-mails (credential stuffing), per `LOCKOUT_MINUTES`. */
export const LOGIN_FAILURES_PER_EMAIL_IP = 2 * LOCKOUT_THRESHOLD;
export const LOGIN_FAILURES_PER_IP = 100;
/** Set-password / reset-link submissions per IP per hour that name no usable token. */
export const TOKEN_FAILURES_PER_IP = 20;
/** Links an affiliate may create (slugs are global; this bounds squatting). */
export const MAX_LINKS_PER_AFFILIATE = 200;
/** Rows in one CSV export. */
export const CSV_EXPORT_LIMIT = 50_000;
/** How far ahead "becomes payable soon" looks in the next-payout estimate. */
export const MATURING_DAYS = 30;
/** Above this many clicks in the chart's period, days are UTC days from the rollup instead of local days. */
export const LOCAL_DAYS_MAX_CLICKS = 50_000;

export const setPasswordInput = z.object({
  token: z.string().min(10).max(200),
  password: z.string().min(MIN_PASSWORD_LENGTH, `must be at least ${MIN_PASSWORD_LENGTH} characters`).max(1000),
});

export const loginInput = z.object({
  email: z.email().max(320),
  password: z.string().min(1).max(1000),
  program: idFilter,
});

export const resetRequestInput = z.object({
  email: z.email().max(320),
  program: idFilter,
});

export const changePasswordInput = z.object({
  currentPassword: z.string().min(1).max(1000),
  newPassword: z.string().min(MIN_PASSWORD_LENGTH, `must be at least ${MIN_PASSWORD_LENGTH} characters`).max(1000),
});

export const applyInput = z.object({
  name: storableText().trim().min(1, 'is required').max(200),
  email: z.email().max(320),
  website: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .max(2048)
    .refine(isStorableText, NOT_STORABLE)
    .optional()
    .or(z.literal('').transform(() => undefined)),
  promotionMethod: storableText().trim().min(1, 'is required').max(2000),
});

const programIdParam = z.string().regex(/^[A-Za-z0-9_-]{1,100}$/, 'is not a program id');

export const createLinkInput = z.object({
  slug: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 _ -')
    .optional(),
  destinationUrl: destinationUrlInput.optional(),
  campaign: storableText().trim().min(1).max(100).optional(),
});

export const pageInput = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
});

const COMMISSION_STATUSES = ['pending', 'on_hold', 'approved', 'paid', 'rejected', 'reversed'] as const;
export const listCommissionsInput = pageInput.extend({
  /** One status or a comma-separated list. */
  status: z
    .string()
    .max(100)
    .transform((s) => s.split(',').filter(Boolean))
    .pipe(z.array(z.enum(COMMISSION_STATUSES)))
    .optional(),
});

export const statsInput = z.object({
  days: z.coerce
    .number()
    .pipe(z.union([z.literal(7), z.literal(30), z.literal(90)], { error: 'must be 7, 30 or 90' }))
    .default(30),
  tz: z
    .string()
    .max(64)
    .regex(/^[A-Za-z0-9_+\-/]+$/, 'must be an IANA time zone')
    .refine(isTimeZone, 'must be an IANA time zone')
    .default('UTC'),
});

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * ISO 13616 IANA check: move the first four characters to the end, letters to numbers (A=10 … Z=35), and
 * the number mod 97 must be 1.
 */
export function isValidIban(raw: string): boolean {
  const iban = raw.replace(/\s+/g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(iban)) return false;
  const digits = (iban.slice(4) + iban.slice(0, 4)).replace(/[A-Z]/g, (c) => String(c.charCodeAt(0) - 55));
  let rest = 0;
  for (const d of digits) rest = (rest * 10 + Number(d)) % 97;
  return rest === 1;
}

const paypalDetails = z.object({ email: z.email().max(320) });
const bankDetails = z
  .object({
    accountHolder: storableText().trim().min(1, 'is required').max(200),
    iban: z
      .string()
      .max(50)
      .transform((s) => s.replace(/\s+/g, '').toUpperCase())
      .refine((s) => s === '' || isValidIban(s), 'is not a valid IBAN')
      .optional(),
    accountNumber: z
      .string()
      .trim()
      .regex(/^[0-9A-Za-z -]{4,34}$/, 'is not an account number')
      .optional()
      .or(z.literal('')),
    bic: z
      .string()
      .trim()
      .toUpperCase()
      .regex(/^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$/, 'is not a BIC/SWIFT code')
      .optional()
      .or(z.literal('')),
    routingNumber: z
      .string()
      .trim()
      .regex(/^[0-9 -]{5,20}$/, 'is not a routing number')
      .optional()
      .or(z.literal('')),
    bankName: storableText().trim().max(200).optional(),
    country: z
      .string()
      .trim()
      .toUpperCase()
      .regex(/^[A-Z]{2}$/, 'must be a 2-letter country code'),
  })
  .refine((b) => Boolean(b.iban) || Boolean(b.accountNumber), {
    message: 'an IBAN or an account number is required',
    path: ['iban'],
  });
const stripeConnectDetails = z.object({
  accountId: z
    .string()
    .trim()
    .regex(/^acct_[A-Za-z0-9]{6,64}$/, 'must be a Stripe account id (acct_...)'),
});

export const payoutSettingsInput = z.discriminatedUnion('method', [
  z.object({ method: z.literal('paypal'), details: paypalDetails, password: z.string().min(1).max(1000) }),
  z.object({ method: z.literal('bank_transfer'), details: bankDetails, password: z.string().min(1).max(1000) }),
  z.object({
    method: z.literal('stripe_connect'),
    details: stripeConnectDetails,
    password: z.string().min(1).max(1000),
  }),
]);

export interface SessionInfo {
  /** The cookie value (random secret). */
  sessionId: string;
  csrfToken: string;
  affiliateId: string;
}

export interface AuthenticatedPartner {
  idHash: string;
  affiliateId: string;
  programId: string;
  csrfToken: string;
}

export interface ClientInfo {
  ip: string | null;
  userAgent: string | null;
}

export interface Money {
  /** Integer minor units. */
  amount: number;
  /** ISO 4217, lower case. */
  currency: string;
}

/** A commission as the affiliate sees it. Amounts in minor units of `currency`. */
export interface PartnerCommission {
  id: string;
  amount: number;
  currency: string;
  kind: string;
  status: CommissionStatus;
  rule: CommissionRule;
  /** The referred customer's e-mail, masked (`ja•••@e•••.com`), or null. */
  customer: string | null;
  saleAt: string | null;
  /** When the hold period ends and the commission becomes payable (ISO 8601). */
  payableAt: string;
  approvedAt: string | null;
  paidAt: string | null;
  payoutId: string | null;
  reason: string | null;
  createdAt: string;
}

/** What an affiliate sees of a payout (no batch or transfer internals). */
function toPartnerPayout(p: {
  id: string;
  amount: number;
  currency: string;
  status: PayoutStatus;
  method: PayoutMethod;
  reference: string | null;
  failure_reason: string | null;
  created_at: Date;
  completed_at: Date | null;
}) {
  return {
    id: p.id,
    amount: p.amount,
    currency: p.currency,
    status: p.status,
    method: p.method,
    reference: p.reference,
    failureReason: p.failure_reason,
    createdAt: p.created_at.toISOString(),
    completedAt: p.completed_at?.toISOString() ?? null,
  };
}

type CommissionJoinRow = Awaited<ReturnType<typeof repo.listCommissions>>['rows'][number];

function toPartnerCommission(c: CommissionJoinRow): PartnerCommission {
  return {
    id: c.id,
    amount: c.amount,
    currency: c.currency,
    kind: c.kind,
    status: c.status,
    rule: commissionRule(c),
    customer: maskEmail(c.customer_email ?? c.referral_email),
    saleAt: c.sale_at?.toISOString() ?? null,
    payableAt: c.payable_at.toISOString(),
    approvedAt: c.approved_at?.toISOString() ?? null,
    paidAt: c.paid_at?.toISOString() ?? null,
    payoutId: c.payout_id,
    reason: c.reason,
    createdAt: c.created_at.toISOString(),
  };
}

/** Public view of payout details: enough to recognise them, not enough to copy an account number. */
function payoutSummary(method: PartnerPayoutMethod, d: Record<string, string>): string {
  if (method === 'paypal') return `PayPal ${d.email}`;
  if (method === 'stripe_connect') return `Stripe Connect ${d.accountId}`;
  const account = d.iban || d.accountNumber || '';
  return `Bank transfer •••• ${account.slice(-4)}${d.bankName ? ` (${d.bankName})` : ''}`;
}

/** A readable code from the name ("Jane Doe" → "janedoe-x7k2"), like the admin API generates. */
function generateCode(name: string): string {
  const base = name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '')
    .slice(0, 16);
  const suffix = randomBytes(4).toString('base64url').replace(/[-_]/g, '').slice(0, 4).toLowerCase();
  const code = base ? `${base}-${suffix}` : `aff-${randomBytes(5).toString('hex')}`;
  return AFFILIATE_CODE.test(code) ? code : `aff-${randomBytes(5).toString('hex')}`;
}

/**
 * Per currency: what a payout may take now (`amount`), what matures within `MATURING_DAYS`, and the minimum
 * payout in that currency (the payouts engine's `minimumPayout`). Currencies with nothing are left out.
 */
function payoutBalances(program: ProgramRow, money: repo.MoneyRow[]) {
  return money
    .map((m) => {
      const amount = m.balance;
      const minimum = minimumPayout(program, m.currency);
      return {
        currency: m.currency,
        amount,
        maturing: m.maturing,
        minimum,
        reachesMinimum: amount > 0 && amount >= minimum,
      };
    })
    .filter((b) => b.amount !== 0 || b.maturing !== 0 || b.currency === program.currency);
}

/** The next run of the program's payout schedule (cron, UTC) after `at`, ISO 8601, or null when unreadable. */
function nextPayoutRun(program: ProgramRow, at: Date): string | null {
  try {
    return CronExpressionParser.parse(program.payout_schedule, { currentDate: at, tz: 'UTC' })
      .next()
      .toDate()
      .toISOString();
  } catch {
    return null;
  }
}

/** An e-mail address as a rate-limit key: lower-cased and hashed (the table keeps no typed-in addresses). */
const emailKey = (email: string) => createHash('sha256').update(email.toLowerCase()).digest('base64url').slice(0, 22);

function throwRateLimited(msBeforeNext: number, message = 'Too many attempts; try again later'): never {
  throw new RateLimitedError(message, Math.max(1, Math.ceil(msBeforeNext / 1000)));
}

export function createPartnerService(deps: { db: Db; config: Config; mailer: Mailer; now?: () => Date }) {
  const { db, config, mailer } = deps;
  const now = deps.now ?? (() => new Date());
  // Every limit here is counted in PostgreSQL (`rate_limits`, migration 0012), so it holds across all processes on
  // this database, and each attempt is counted BEFORE the work it guards (argon2, mail), so a parallel burst
  // stops at the limit. Login failures per e-mail + IP, and per IP across e-mails (credential stuffing): the
  // per-account lockout (LOCKOUT_THRESHOLD, on the affiliate row) trips first for known accounts; these also cover
  // unknown e-mails. A login that succeeds gives its points back.
  const loginPerEmailIp = sharedRateLimiter(db, {
    keyPrefix: 'login_email_ip',
    points: LOGIN_FAILURES_PER_EMAIL_IP,
    duration: LOCKOUT_MINUTES * 60,
    prune: true,
  });
  const loginPerIp = sharedRateLimiter(db, {
    keyPrefix: 'login_ip',
    points: LOGIN_FAILURES_PER_IP,
    duration: LOCKOUT_MINUTES * 60,
  });
  // Set-password and reset-link submissions per IP (a used link gives its point back).
  const tokenPerIp = sharedRateLimiter(db, { keyPrefix: 'token_ip', points: TOKEN_FAILURES_PER_IP, duration: 3600 });
  // Public forms: applications and reset requests per IP; reset mails per e-mail address.
  const applyPerIp = sharedRateLimiter(db, { keyPrefix: 'apply_ip', points: 10, duration: 3600 });
  const resetPerIp = sharedRateLimiter(db, { keyPrefix: 'reset_ip', points: 20, duration: 3600 });
  const resetPerEmail = sharedRateLimiter(db, { keyPrefix: 'reset_email', points: 3, duration: 3600 });

  async function createSession(affiliateId: string, client: ClientInfo): Promise<SessionInfo> {
    const sessionId = newSecret('ps');
    const csrfToken = randomBytes(24).toString('base64url');
    await repo.insertSession(db, {
      id_hash: hashSecret(sessionId),
      affiliate_id: affiliateId,
      csrf_token: csrfToken,
      ip: client.ip,
      user_agent: client.userAgent?.slice(0, 500) ?? null,
      expires_at: new Date(now().getTime() + SESSION_TTL_DAYS * DAY_MS),
    });
    return { sessionId, csrfToken, affiliateId };
  }

  async function issueToken(affiliateId: string, purpose: 'set_password' | 'reset_password'): Promise<string> {
    const token = newSecret('pt');
    const ttl = purpose === 'set_password' ? SET_PASSWORD_TTL_DAYS * DAY_MS : RESET_PASSWORD_TTL_MINUTES * MINUTE_MS;
    await db.transaction().execute(async (trx) => {
      // A new link replaces older unused ones of the same purpose: a leaked old link stops working.
      await repo.retireTokens(trx, affiliateId, purpose, now());
      await repo.insertToken(trx, {
        token_hash: hashSecret(token),
        affiliate_id: affiliateId,
        purpose,
        expires_at: new Date(now().getTime() + ttl),
      });
    });
    return token;
  }

  async function requireAffiliate(partner: AuthenticatedPartner): Promise<AffiliateRow> {
    const a = await affiliatesRepo.findAffiliateById(db, partner.affiliateId);
    if (!a) throw new UnauthorizedError('Log in first', 'not_logged_in');
    return a;
  }
  async function requireProgram(partner: AuthenticatedPartner): Promise<ProgramRow> {
    const p = await findProgramById(db, partner.programId);
    if (!p) throw new UnauthorizedError('Log in first', 'not_logged_in');
    return p;
  }

  const linkUrl = (slug: string) => `${config.publicUrl}/r/${slug}`;

  /**
   * Daily series of one affiliate (see `stats`), key `affiliateId|days|tz`; concurrent callers share one
   * computation. Outside UTC, clicks are counted from the clicks themselves; above `LOCAL_DAYS_MAX_CLICKS` in
   * the period that is too slow, so the days fall back to UTC days (from the rollup) and `timeZone` says so.
   */
  const statsOf = coalesced(async (key: string) => {
    const [affiliateId, daysText, tz] = key.split('|') as [string, string, string];
    const days = Number(daysText);
    const at = now();
    const zone =
      tz !== 'UTC' && (await repo.recentRollupClicks(db, affiliateId, at, days)) > LOCAL_DAYS_MAX_CLICKS ? 'UTC' : tz;
    const { counts, earnings } = await repo.dailySeries(db, affiliateId, at, days, zone);
    const dates = counts.map((r) => r.day);
    const index = new Map(dates.map((d, i) => [d, i]));
    const perCurrency = new Map<string, number[]>();
    for (const e of earnings) {
      let arr = perCurrency.get(e.currency);
      if (!arr) {
        arr = dates.map(() => 0);
        perCurrency.set(e.currency, arr);
      }
      arr[index.get(e.day)!] = e.amount;
    }
    return {
      days,
      timeZone: zone,
      dates,
      clicks: counts.map((r) => Number(r.clicks)),
      sales: counts.map((r) => Number(r.sales)),
      earnings: [...perCurrency.entries()]
        .sort(([x], [y]) => x.localeCompare(y))
        .map(([currency, amounts]) => ({ currency, amounts })),
    };
  });

  /** The overview of one affiliate (see `overview`); concurrent callers share one computation. */
  const overviewOf = coalesced(async (affiliateId: string) => {
    const at = now();
    // Independent reads on separate connections: the overview takes as long as the slowest, not the sum.
    const [program, funnel, leads, sales, money] = await Promise.all([
      repo.programOfAffiliate(db, affiliateId),
      repo.funnelCounts(db, affiliateId),
      // The same function as the admin API's `/api/v1/stats`: one definition of a lead.
      leadCount(db, { affiliateId }),
      repo.salesByCurrency(db, affiliateId),
      repo.moneyByCurrency(db, affiliateId, new Date(at.getTime() + MATURING_DAYS * DAY_MS)),
    ]);
    if (!program) throw new UnauthorizedError('Log in first', 'not_logged_in');
    return {
      clicks: funnel.clicks,
      leads,
      customers: funnel.customers,
      conversions: sales.reduce((sum, x) => sum + x.n, 0),
      conversionRate: funnel.clicks > 0 ? funnel.customers / funnel.clicks : null,
      revenue: sales.map((x) => ({ currency: x.currency, amount: x.revenue })),
      earnings: money.map((m) => ({
        currency: m.currency,
        pending: m.pending,
        onHold: m.on_hold,
        approved: m.approved,
        clawbacks: m.clawbacks,
        inPayouts: m.in_payouts,
        paid: m.paid,
      })),
      nextPayout: payoutBalances(program, money),
      nextPayoutDate: nextPayoutRun(program, at),
    };
  });

  const service = {
    /**
     * Issue a one-time link that lets the affiliate set a password; valid `SET_PASSWORD_TTL_DAYS` days
     * (a reset link: `RESET_PASSWORD_TTL_MINUTES`). Older unused links of the same purpose stop working.
     * The token travels in the URL fragment so it never reaches server logs or Referer headers.
     * @returns the absolute URL to give the affiliate: `${publicUrl}/partner/#set-password=<token>`
     *   (`#reset-password=<token>` for a reset)
     */
    async issueSetPasswordLink(
      affiliate: Pick<AffiliateRow, 'id'>,
      purpose: 'set_password' | 'reset_password' = 'set_password',
    ): Promise<string> {
      const token = await issueToken(affiliate.id, purpose);
      const fragment = purpose === 'set_password' ? 'set-password' : 'reset-password';
      return `${config.publicUrl}/partner/#${fragment}=${token}`;
    },

    /**
     * Issue a set-password link for an approved affiliate and e-mail it (when SMTP is configured; otherwise
     * the mail is logged). Used on approval, on direct invites, and by the CLI.
     * @returns the link (always) and whether an e-mail was accepted by the SMTP server
     */
    async sendSetPasswordLink(affiliateId: string): Promise<{ setPasswordUrl: string; emailSent: boolean }> {
      const a = await affiliatesRepo.findAffiliateById(db, affiliateId);
      if (!a) throw new NotFoundError('Affiliate');
      const p = (await findProgramById(db, a.program_id))!;
      const setPasswordUrl = await service.issueSetPasswordLink(a);
      const emailSent = await mailer.send(
        mails.setPasswordMail({
          to: a.email,
          name: a.name,
          programName: p.name,
          url: setPasswordUrl,
          ttlDays: SET_PASSWORD_TTL_DAYS,
        }),
      );
      return { setPasswordUrl, emailSent };
    },

    /**
     * The merchant (re)invites an approved affiliate of `program`: a fresh set-password link, e-mailed.
     * @throws NotFoundError (absent or another program's); UnprocessableError `affiliate_not_approved`
     */
    async invite(program: Pick<ProgramRow, 'id'>, affiliateId: string) {
      const a = await affiliatesRepo.findAffiliate(db, program.id, affiliateId);
      if (!a) throw new NotFoundError('Affiliate');
      if (a.status !== 'approved')
        throw new UnprocessableError(
          'Only an approved affiliate can be invited; approve it first',
          'affiliate_not_approved',
        );
      return service.sendSetPasswordLink(a.id);
    },

    /** What the public application page shows about a program. @throws NotFoundError `unknown_program` */
    async publicProgram(programId: string) {
      const id = parseInput(programIdParam, programId);
      const p = await findProgramById(db, id);
      if (!p) throw new NotFoundError('Program', 'unknown_program');
      return {
        id: p.id,
        name: p.name,
        website: p.website,
        currency: p.currency,
        defaultRateBps: p.default_rate_bps,
        cookieDays: p.cookie_days,
      };
    },

    /**
     * A public application to join `programId`: creates a `pending` affiliate with the website and how they
     * promote. An e-mail already known in the program gets the same answer and changes nothing (the form
     * must not reveal who is an affiliate).
     * @throws ValidationError; NotFoundError `unknown_program`; RateLimitedError (10 per IP per hour)
     */
    async apply(programId: string, input: unknown, client: ClientInfo): Promise<{ status: 'pending' }> {
      const id = parseInput(programIdParam, programId);
      const data = parseInput(applyInput, input);
      const program = await findProgramById(db, id);
      if (!program) throw new NotFoundError('Program', 'unknown_program');
      const wait = client.ip ? await consumeAll([[applyPerIp, client.ip]]) : null;
      if (wait !== null) throwRateLimited(wait, 'Too many applications from this address');
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          await repo.insertApplication(db, {
            id: newId('aff'),
            program_id: program.id,
            email: data.email,
            name: data.name,
            code: generateCode(data.name),
            status: 'pending',
            website: data.website ?? null,
            promotion_method: data.promotionMethod,
            applied_at: now(),
          });
          return { status: 'pending' };
        } catch (err) {
          const e = err as { code?: string; constraint?: string };
          if (e.code === '23505' && e.constraint === 'affiliates_program_email_key') return { status: 'pending' };
          if (e.code === '23505' && e.constraint === 'affiliates_program_id_code_key') continue;
          throw err;
        }
      }
      throw new ConflictError('Could not generate a referral code; try again', 'code_generation_failed');
    },

    /** Application fields of affiliates of `program`, by affiliate id (for the merchant's review). */
    async applications(program: Pick<ProgramRow, 'id'>, affiliateIds: string[]) {
      const rows = await repo.listApplications(db, program.id, affiliateIds);
      return new Map(
        rows.map((r) => [
          r.id,
          { website: r.website, promotionMethod: r.promotion_method, appliedAt: r.applied_at?.toISOString() ?? null },
        ]),
      );
    },

    /**
     * Consume a set-password or reset token, store the argon2id hash, clear any lockout, end the affiliate's
     * other sessions and log in. Each submission first takes a point of the per-IP limit
     * (`TOKEN_FAILURES_PER_IP` an hour, shared in PostgreSQL; a used link gives it back), and a token that is
     * unknown, used or expired is refused by a look-up of its hash, before any argon2 hashing.
     * @throws ValidationError (weak password); UnauthorizedError `invalid_token` (unknown, used or expired, or the
     *   affiliate cannot log in); RateLimitedError (429, `Retry-After`)
     */
    async setPassword(input: unknown, client: ClientInfo): Promise<SessionInfo> {
      const data = parseInput(setPasswordInput, input);
      const ipKey = client.ip ?? '';
      const wait = await consumeAll([[tokenPerIp, ipKey]]);
      if (wait !== null) throwRateLimited(wait, 'Too many attempts with set-password links; try again later');
      const usable = await repo.findUsableToken(db, hashSecret(data.token), now());
      if (!usable) throw new UnauthorizedError('This link is invalid, already used or expired', 'invalid_token');
      if (usable.status !== 'approved') throw new UnauthorizedError('This account cannot log in', 'invalid_token');
      const passwordHash = await hashPassword(data.password);
      const affiliateId = await db.transaction().execute(async (trx) => {
        const token = await repo.lockUsableToken(trx, hashSecret(data.token), now());
        if (!token) throw new UnauthorizedError('This link is invalid, already used or expired', 'invalid_token');
        const a = await affiliatesRepo.findAffiliateById(trx, token.affiliate_id);
        if (a?.status !== 'approved') throw new UnauthorizedError('This account cannot log in', 'invalid_token');
        await repo.markTokenUsed(trx, token.token_hash, now());
        await repo.setPasswordHash(trx, token.affiliate_id, passwordHash);
        await repo.deleteAffiliateSessions(trx, token.affiliate_id);
        return token.affiliate_id;
      });
      await tokenPerIp.reward(ipKey, 1);
      return createSession(affiliateId, client);
    },

    /**
     * Log in with e-mail and password. The same e-mail may be an affiliate of several programs: `program`
     * picks one; otherwise the first approved affiliate whose password matches.
     * Every attempt is counted before its argon2 verification, atomically in PostgreSQL (so across processes):
     * - per e-mail + IP (`LOGIN_FAILURES_PER_EMAIL_IP`) and per IP (`LOGIN_FAILURES_PER_IP`) per `LOCKOUT_MINUTES`;
     *   a successful login gives its points back, so only failures use them up;
     * - per account: `LOCKOUT_THRESHOLD` consecutive failures lock it for `LOCKOUT_MINUTES`
     *   (`repo.reserveLoginAttempt`); a correct password is refused meanwhile; a success clears the count; a reset
     *   link unlocks it. Of a parallel burst of wrong passwords exactly `LOCKOUT_THRESHOLD` are verified.
     * @throws UnauthorizedError `invalid_credentials`; RateLimitedError (429, `Retry-After`)
     */
    async login(input: unknown, client: ClientInfo): Promise<SessionInfo> {
      const data = parseInput(loginInput, input);
      const emailIpKey = `${emailKey(data.email)}|${client.ip ?? ''}`;
      const ipKey = client.ip ?? '';
      const wait = await consumeAll([
        [loginPerEmailIp, emailIpKey],
        [loginPerIp, ipKey],
      ]);
      if (wait !== null) throwRateLimited(wait, 'Too many failed logins; try again later or reset your password');
      const at = now();
      const lockUntil = new Date(at.getTime() + LOCKOUT_MINUTES * MINUTE_MS);
      const candidates = (await affiliatesRepo.findAffiliatesByEmail(db, data.email, data.program)).filter(
        (a) => a.status === 'approved' && a.password_hash,
      );
      let refused = 0;
      for (const a of candidates) {
        // Counted first: a parallel burst cannot all be verified before the first failure is recorded.
        if ((await repo.reserveLoginAttempt(db, a.id, LOCKOUT_THRESHOLD, at, lockUntil)) === null) {
          refused++;
          continue;
        }
        if (await verifyPassword(a.password_hash!, data.password)) {
          await repo.clearFailedLogins(db, a.id);
          await Promise.all([loginPerEmailIp.delete(emailIpKey), loginPerIp.reward(ipKey, 1)]);
          return createSession(a.id, client);
        }
      }
      if (candidates.length > 0 && refused === candidates.length) {
        const until = await Promise.all(candidates.map((a) => repo.lockedUntil(db, a.id, at)));
        const soonest = Math.min(...until.map((u) => u?.getTime() ?? lockUntil.getTime()));
        // From now, not from `at`: a parallel attempt that read the clock later may have set the lock.
        throwRateLimited(soonest - now().getTime(), 'Too many failed logins; try again later or reset your password');
      }
      if (candidates.length === 0) await verifyPassword(await decoyHash(), data.password);
      throw new UnauthorizedError('Wrong email or password', 'invalid_credentials');
    },

    /**
     * "Forgot your password": e-mail a one-time reset link (valid `RESET_PASSWORD_TTL_MINUTES`) to every
     * approved affiliate with this e-mail (in `program` when given). Same answer whether or not the e-mail
     * is known. At most 3 mails per address per hour. Both limits are counted in PostgreSQL (every process).
     * @throws ValidationError; RateLimitedError (20 requests per IP per hour)
     */
    async requestPasswordReset(input: unknown, client: ClientInfo): Promise<{ sent: true }> {
      const data = parseInput(resetRequestInput, input);
      const wait = client.ip ? await consumeAll([[resetPerIp, client.ip]]) : null;
      if (wait !== null) throwRateLimited(wait);
      if ((await consumeAll([[resetPerEmail, emailKey(data.email)]])) !== null) return { sent: true };
      const affiliates = (await affiliatesRepo.findAffiliatesByEmail(db, data.email, data.program)).filter(
        (a) => a.status === 'approved',
      );
      const mailsOut: Promise<boolean>[] = [];
      for (const a of affiliates) {
        const p = await findProgramById(db, a.program_id);
        const url = await service.issueSetPasswordLink(a, 'reset_password');
        mailsOut.push(
          mailer.send(
            mails.resetPasswordMail({
              to: a.email,
              name: a.name,
              programName: p?.name ?? 'partner',
              url,
              ttlMinutes: RESET_PASSWORD_TTL_MINUTES,
            }),
          ),
        );
      }
      // Not awaited: talking to the SMTP server takes long enough to tell a known address from an unknown one.
      // `send` never rejects (failures are logged).
      void Promise.all(mailsOut);
      return { sent: true };
    },

    /** The partner behind a session cookie, or null (absent, expired, or affiliate no longer approved). */
    async authenticate(sessionId: string | undefined): Promise<AuthenticatedPartner | null> {
      if (!sessionId || sessionId.length > 200) return null;
      const at = now();
      const s = await repo.findSession(db, hashSecret(sessionId), at);
      if (s?.status !== 'approved') return null;
      // Keep "last seen" roughly current without a write per request.
      if (at.getTime() - s.last_seen_at.getTime() > 5 * MINUTE_MS) await repo.touchSession(db, s.id_hash, at);
      return { idHash: s.id_hash, affiliateId: s.affiliate_id, programId: s.program_id, csrfToken: s.csrf_token };
    },

    /** End this session, or every session of the affiliate ("log out everywhere"). */
    async logout(partner: AuthenticatedPartner, everywhere: boolean): Promise<void> {
      if (everywhere) await repo.deleteAffiliateSessions(db, partner.affiliateId);
      else await repo.deleteSession(db, partner.idHash);
    },

    /**
     * Change the password while logged in; other sessions end, this one stays.
     * @throws ValidationError; UnauthorizedError `invalid_credentials` (wrong current password)
     */
    async changePassword(partner: AuthenticatedPartner, input: unknown): Promise<void> {
      const data = parseInput(changePasswordInput, input);
      const a = await requireAffiliate(partner);
      if (!a.password_hash || !(await verifyPassword(a.password_hash, data.currentPassword))) {
        throw new UnauthorizedError('The current password is wrong', 'invalid_credentials');
      }
      const passwordHash = await hashPassword(data.newPassword);
      await db.transaction().execute(async (trx) => {
        await repo.setPasswordHash(trx, a.id, passwordHash);
        await repo.deleteAffiliateSessions(trx, a.id, partner.idHash);
      });
    },

    /** Who is logged in: affiliate, program (with its terms), default referral link and the CSRF token. */
    async me(partner: AuthenticatedPartner) {
      const [a, p] = await Promise.all([requireAffiliate(partner), requireProgram(partner)]);
      return {
        affiliate: {
          id: a.id,
          name: a.name,
          email: a.email,
          code: a.code,
          status: a.status,
          website: a.website,
          payoutMethod: a.payout_method,
        },
        program: {
          id: p.id,
          name: p.name,
          website: p.website,
          currency: p.currency,
          minPayoutAmount: p.min_payout_amount,
          defaultRateBps: p.default_rate_bps,
          holdDays: p.hold_days,
          cookieDays: p.cookie_days,
        },
        referralLink: referralLink(p.website, a.code),
        linkBase: `${config.publicUrl}/r/`,
        csrfToken: partner.csrfToken,
      };
    },

    /**
     * The affiliate's numbers (counts; money in minor units per currency):
     * - `clicks`; `leads` (referred visitors who signed up, once per person: `leadCount` in `programs/stats.repository.ts`,
     *   the admin API's definition too); `customers` (referrals with status
     *   `customer`); `conversions` (sale conversions);
     * - `conversionRate` = customers ÷ clicks (0..1), null without clicks;
     * - `revenue`: referred sales net of refunds;
     * - `earnings`: `pending` (hold period), `onHold` (fraud check or dispute), `approved` (not yet in a payout),
     *   `clawbacks` (outstanding, ≤ 0), `inPayouts` (in an open payout), `paid` — as the payouts engine counts;
     * - `nextPayout`: what a payout may take now (`amount` = approved + clawbacks), what becomes payable within
     *   `MATURING_DAYS` days (`maturing`), the minimum payout in that currency, and whether it is reached;
     *   `nextPayoutDate`: the program's next scheduled payout run (UTC), or null.
     */
    async overview(partner: AuthenticatedPartner) {
      return overviewOf(partner.affiliateId);
    },

    /**
     * Clicks, sale conversions and earnings (commissions not rejected or reversed, on the day of their sale)
     * per local day for the last 7, 30 or 90 days in the time zone `tz` (default UTC; UTC days when the
     * period has more than `LOCAL_DAYS_MAX_CLICKS` clicks — `timeZone` tells which).
     * @returns `{ days, timeZone, dates[], clicks[], sales[], earnings: [{ currency, amounts[] }] }`, arrays aligned with `dates`
     */
    async stats(partner: AuthenticatedPartner, query: unknown) {
      const q = parseInput(statsInput, query);
      return statsOf(`${partner.affiliateId}|${q.days}|${q.tz}`);
    },

    /** The default `?ref=` link and the affiliate's tracking links, each with clicks and sale conversions. */
    async links(partner: AuthenticatedPartner) {
      const [a, p, rows, def] = await Promise.all([
        requireAffiliate(partner),
        requireProgram(partner),
        repo.listLinksWithStats(db, partner.affiliateId),
        repo.defaultLinkStats(db, partner.affiliateId),
      ]);
      return {
        defaultLink: { url: referralLink(p.website, a.code), clicks: def.clicks, conversions: def.conversions },
        links: rows.map((l) => ({
          id: l.id,
          slug: l.slug,
          url: linkUrl(l.slug),
          destinationUrl: l.destination_url,
          campaign: l.campaign,
          clicks: Number(l.clicks ?? 0),
          conversions: Number(l.conversions ?? 0),
          createdAt: l.created_at.toISOString(),
        })),
        maxLinks: MAX_LINKS_PER_AFFILIATE,
      };
    },

    /**
     * Create a tracking link `<PUBLIC_URL>/r/<slug>` to a page of the merchant's own site (default: its
     * website), with an optional campaign / sub-id.
     * @throws ValidationError (`destination_not_allowed` off-site); ConflictError `slug_taken`, `too_many_links`
     */
    async createLink(partner: AuthenticatedPartner, input: unknown) {
      const data = parseInput(createLinkInput, input);
      const program = await requireProgram(partner);
      const destination = data.destinationUrl ?? program.website;
      if (!isMerchantUrl(program, destination)) {
        throw new ValidationError(`destinationUrl must be a page of ${program.website}`, 'destination_not_allowed');
      }
      if ((await repo.countLinks(db, partner.affiliateId)) >= MAX_LINKS_PER_AFFILIATE) {
        throw new ConflictError(`You can have at most ${MAX_LINKS_PER_AFFILIATE} links`, 'too_many_links');
      }
      try {
        const row = await insertLink(db, {
          id: newId('lnk'),
          program_id: program.id,
          affiliate_id: partner.affiliateId,
          slug: data.slug ?? randomBytes(6).toString('base64url'),
          destination_url: destination,
          campaign: data.campaign ?? null,
        });
        return {
          id: row.id,
          slug: row.slug,
          url: linkUrl(row.slug),
          destinationUrl: row.destination_url,
          campaign: row.campaign,
          clicks: 0,
          conversions: 0,
          createdAt: row.created_at.toISOString(),
        };
      } catch (err) {
        if ((err as { code?: string }).code === '23505')
          throw new ConflictError('This slug is already taken', 'slug_taken');
        throw err;
      }
    },

    /**
     * Referred visitors who became leads or customers (e-mail masked), newest first, each with their sales
     * and the commission each sale earned.
     */
    async referrals(partner: AuthenticatedPartner, query: unknown) {
      const page = parseInput(pageInput, query);
      const { rows, total } = await repo.listReferrals(db, partner.affiliateId, page);
      const sales = await repo.salesOfReferrals(
        db,
        partner.affiliateId,
        rows.map((r) => r.id),
      );
      return {
        data: rows.map((r) => {
          const own = sales.filter((s) => s.referral_id === r.id);
          const revenue = new Map<string, number>();
          for (const s of own) revenue.set(s.currency, (revenue.get(s.currency) ?? 0) + s.amount);
          return {
            id: r.id,
            status: r.status,
            customer: maskEmail(r.email ?? own.find((s) => s.customer_email)?.customer_email ?? null),
            since: r.created_at.toISOString(),
            revenue: [...revenue.entries()].map(([currency, amount]) => ({ currency, amount })),
            sales: own.map((s) => ({
              id: s.id,
              amount: s.amount,
              currency: s.currency,
              occurredAt: s.occurred_at.toISOString(),
              commission:
                s.commission_id === null
                  ? null
                  : {
                      id: s.commission_id,
                      amount: s.commission_amount!,
                      currency: s.commission_currency!,
                      status: s.commission_status!,
                    },
            })),
          };
        }),
        total,
        limit: page.limit,
        offset: page.offset,
      };
    },

    /** The affiliate's commissions, newest first; `status` filters (`pending` or `pending,approved`). */
    async commissions(partner: AuthenticatedPartner, query: unknown) {
      const q = parseInput(listCommissionsInput, query);
      const { rows, total } = await repo.listCommissions(db, partner.affiliateId, {
        statuses: q.status,
        limit: q.limit,
        offset: q.offset,
      });
      return { data: rows.map(toPartnerCommission), total, limit: q.limit, offset: q.offset };
    },

    /** One commission with its history. @throws NotFoundError (absent or another affiliate's) */
    async commission(partner: AuthenticatedPartner, id: string) {
      const row = id.length <= 100 ? await repo.findCommission(db, partner.affiliateId, id) : undefined;
      if (!row) throw new NotFoundError('Commission');
      const events = await repo.commissionEvents(db, row.id);
      return {
        commission: toPartnerCommission(row),
        history: events.map((e) => ({
          from: e.from_status,
          to: e.to_status,
          amount: e.amount,
          actor: e.actor,
          reason: e.reason,
          at: e.created_at.toISOString(),
        })),
      };
    },

    /**
     * Every commission of the affiliate as CSV rows (header first), oldest first, at most `CSV_EXPORT_LIMIT`.
     * Amounts appear twice: as a decimal string in the currency (`19.99`) and in minor units (`1999`).
     */
    async commissionsCsvRows(partner: AuthenticatedPartner): Promise<string[][]> {
      const rows = await repo.allCommissions(db, partner.affiliateId, CSV_EXPORT_LIMIT);
      const header = [
        'id',
        'created_at',
        'status',
        'kind',
        'rule',
        'sale_amount',
        'amount',
        'currency',
        'amount_minor',
        'payable_at',
        'paid_at',
        'payout_id',
        'customer',
      ];
      return [
        header,
        ...rows.map((r) => {
          const c = toPartnerCommission(r);
          return [
            c.id,
            c.createdAt,
            c.status,
            c.kind,
            c.rule.description,
            r.sale_amount === null ? '' : formatDecimal(r.sale_amount, r.sale_currency ?? c.currency),
            formatDecimal(c.amount, c.currency),
            c.currency.toUpperCase(),
            String(c.amount),
            c.payableAt,
            c.paidAt ?? '',
            c.payoutId ?? '',
            c.customer ?? '',
          ];
        }),
      ];
    },

    /**
     * Payout history (newest first), the balance that can be paid out per currency (as in `overview`), the
     * next scheduled payout run, the payout method on file, and whether a payout can be requested now (a
     * method on file and, in some currency, a balance ≥ the minimum with no payout already open).
     */
    async payouts(partner: AuthenticatedPartner, query: unknown) {
      const page = parseInput(pageInput, query);
      const at = now();
      const [a, program, list, money, open] = await Promise.all([
        requireAffiliate(partner),
        requireProgram(partner),
        repo.listPayouts(db, partner.affiliateId, page),
        repo.moneyByCurrency(db, partner.affiliateId, new Date(at.getTime() + MATURING_DAYS * DAY_MS)),
        repo.openPayoutsByCurrency(db, partner.affiliateId),
      ]);
      const balance = payoutBalances(program, money);
      const openIn = new Set(open.map((o) => o.currency));
      return {
        data: list.rows.map((p) => ({ ...toPartnerPayout(p), commissions: Number(p.commissions ?? 0) })),
        total: list.total,
        limit: page.limit,
        offset: page.offset,
        balance,
        minimum: { amount: program.min_payout_amount, currency: program.currency },
        nextPayoutDate: nextPayoutRun(program, at),
        payoutMethod: a.payout_method
          ? { method: a.payout_method, summary: payoutSummary(a.payout_method, a.payout_details ?? {}) }
          : null,
        openPayouts: open.reduce((n, o) => n + o.n, 0),
        canRequest: a.payout_method !== null && balance.some((b) => b.reachesMinimum && !openIn.has(b.currency)),
      };
    },

    /** One payout of the affiliate with the commissions it settles. @throws NotFoundError */
    async payout(partner: AuthenticatedPartner, id: string) {
      const p = id.length <= 100 ? await repo.findPayout(db, partner.affiliateId, id) : undefined;
      if (!p) throw new NotFoundError('Payout');
      const commissions = await repo.commissionsOfPayout(db, partner.affiliateId, p.id);
      return {
        payout: toPartnerPayout(p),
        commissions: commissions.map(toPartnerCommission),
      };
    },

    /** The payout method on file (full details: the owner edits them), or `{ method: null }`. */
    async payoutSettings(partner: AuthenticatedPartner) {
      const a = await requireAffiliate(partner);
      if (!a.payout_method) return { method: null, details: null, summary: null, updatedAt: null };
      const details = a.payout_details ?? {};
      return {
        method: a.payout_method,
        details,
        summary: payoutSummary(a.payout_method, details),
        updatedAt: a.payout_updated_at?.toISOString() ?? null,
      };
    },

    /**
     * Set where the affiliate is paid: PayPal e-mail, bank details (IBAN checked with ISO 13616 mod 97, or an
     * account + routing number) or a Stripe Connect account id. Needs the current password (a stolen session
     * alone cannot redirect payouts), and e-mails a notice to the affiliate.
     * @throws ValidationError naming the field; UnauthorizedError `invalid_credentials`
     */
    async updatePayoutSettings(partner: AuthenticatedPartner, input: unknown) {
      const data = parseInput(payoutSettingsInput, input);
      const a = await requireAffiliate(partner);
      if (!a.password_hash || !(await verifyPassword(a.password_hash, data.password))) {
        throw new UnauthorizedError('The password is wrong', 'invalid_credentials');
      }
      const details = Object.fromEntries(
        Object.entries(data.details as Record<string, string | undefined>).filter(
          (e): e is [string, string] => typeof e[1] === 'string' && e[1] !== '',
        ),
      );
      await repo.updatePayoutSettings(db, a.id, data.method, details, now());
      const p = await requireProgram(partner);
      await mailer.send(
        mails.payoutSettingsChangedMail({
          to: a.email,
          name: a.name,
          programName: p.name,
          summary: payoutSummary(data.method, details),
          url: `${config.publicUrl}/partner/payouts`,
        }),
      );
      return service.payoutSettings(partner);
    },
  };
  return service;
}
export type PartnerService = ReturnType<typeof createPartnerService>;

/**
 * CSRF check for state changes of a logged-in partner: the `X-CSRF-Token` header must equal the session's
 * token (a cross-site form cannot set headers; SameSite=Lax keeps the cookie off cross-site POSTs too).
 * @throws ForbiddenError `csrf_failed`
 */
export function assertCsrf(partner: AuthenticatedPartner, header: string | undefined): void {
  if (!header || !safeEqual(header, partner.csrfToken)) {
    throw new ForbiddenError('Missing or wrong X-CSRF-Token header', 'csrf_failed');
  }
}

/** Constant-time string comparison (the CSRF token is a secret). */
function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
