/**
 * The partner side: one-time "set your password" links, password login, server-side sessions stored in
 * PostgreSQL (the cookie carries a random id; we store only its SHA-256), and the affiliate's own numbers.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { AffiliateRow } from '../db/schema.ts';
import { ForbiddenError, RateLimitedError, UnauthorizedError } from '../errors.ts';
import { hashSecret, newSecret } from '../ids.ts';
import { parseInput } from '../http/input.ts';
import * as affiliatesRepo from '../affiliates/affiliates.repository.ts';
import { findProgramById } from '../programs/programs.repository.ts';
import { referralLink } from '../affiliates/affiliates.service.ts';
import { decoyHash, hashPassword, MIN_PASSWORD_LENGTH, verifyPassword } from './passwords.ts';
import * as repo from './partner.repository.ts';

const DAY_MS = 86_400_000;
export const SET_PASSWORD_TTL_DAYS = 7;
export const SESSION_TTL_DAYS = 30;

export const setPasswordInput = z.object({
  token: z.string().min(10).max(200),
  password: z.string().min(MIN_PASSWORD_LENGTH, `must be at least ${MIN_PASSWORD_LENGTH} characters`).max(1000),
});

export const loginInput = z.object({
  email: z.email().max(320),
  password: z.string().min(1).max(1000),
  program: z.string().max(100).optional(),
});

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

export function createPartnerService(deps: { db: Db; config: Config; now?: () => Date }) {
  const { db, config } = deps;
  const now = deps.now ?? (() => new Date());
  // 10 failed logins per e-mail and IP in 15 minutes, then locked out for 15 minutes.
  const loginLimiter = new RateLimiterMemory({ points: 10, duration: 15 * 60, blockDuration: 15 * 60 });

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

  return {
    /**
     * Issue a one-time link that lets the affiliate set a password; valid `SET_PASSWORD_TTL_DAYS` days.
     * The token travels in the URL fragment so it never reaches server logs or Referer headers.
     * @returns the absolute URL to give the affiliate
     */
    async issueSetPasswordLink(affiliate: Pick<AffiliateRow, 'id'>, purpose: 'set_password' | 'reset_password' = 'set_password'): Promise<string> {
      const token = newSecret('pt');
      await repo.insertToken(db, {
        token_hash: hashSecret(token),
        affiliate_id: affiliate.id,
        purpose,
        expires_at: new Date(now().getTime() + SET_PASSWORD_TTL_DAYS * DAY_MS),
      });
      return `${config.publicUrl}/partner/#set-password=${token}`;
    },

    /**
     * Consume a set-password token, store the argon2id hash, end the affiliate's other sessions and log in.
     * @throws ValidationError (weak password); UnauthorizedError `invalid_token` (unknown, used or expired)
     */
    async setPassword(input: unknown, client: ClientInfo): Promise<SessionInfo> {
      const data = parseInput(setPasswordInput, input);
      const passwordHash = await hashPassword(data.password);
      const affiliateId = await db.transaction().execute(async (trx) => {
        const token = await repo.lockUsableToken(trx, hashSecret(data.token), now());
        if (!token) throw new UnauthorizedError('This link is invalid, already used or expired', 'invalid_token');
        await repo.markTokenUsed(trx, token.token_hash, now());
        await trx.updateTable('affiliates').set({ password_hash: passwordHash }).where('id', '=', token.affiliate_id).execute();
        await repo.deleteAffiliateSessions(trx, token.affiliate_id);
        return token.affiliate_id;
      });
      return createSession(affiliateId, client);
    },

    /**
     * Log in with e-mail and password. The same e-mail may be an affiliate of several programs: `program`
     * picks one; otherwise the first approved affiliate whose password matches.
     * @throws UnauthorizedError `invalid_credentials`; RateLimitedError after 10 failures in 15 minutes
     */
    async login(input: unknown, client: ClientInfo): Promise<SessionInfo> {
      const data = parseInput(loginInput, input);
      const limiterKey = `${data.email.toLowerCase()}|${client.ip ?? ''}`;
      const state = await loginLimiter.get(limiterKey);
      if (state && state.consumedPoints > 10) {
        throw new RateLimitedError('Too many failed logins; try again later', Math.ceil(state.msBeforeNext / 1000));
      }
      const candidates = (await affiliatesRepo.findAffiliatesByEmail(db, data.email, data.program)).filter(
        (a) => a.status === 'approved' && a.password_hash,
      );
      for (const a of candidates) {
        if (await verifyPassword(a.password_hash!, data.password)) {
          await loginLimiter.delete(limiterKey);
          return createSession(a.id, client);
        }
      }
      if (candidates.length === 0) await verifyPassword(await decoyHash(), data.password);
      await loginLimiter.penalty(limiterKey, 1);
      throw new UnauthorizedError('Wrong email or password', 'invalid_credentials');
    },

    /** The partner behind a session cookie, or null (absent, expired, or affiliate no longer approved). */
    async authenticate(sessionId: string | undefined): Promise<AuthenticatedPartner | null> {
      if (!sessionId || sessionId.length > 200) return null;
      const s = await repo.findSession(db, hashSecret(sessionId), now());
      if (!s || s.status !== 'approved') return null;
      return { idHash: s.id_hash, affiliateId: s.affiliate_id, programId: s.program_id, csrfToken: s.csrf_token };
    },

    async logout(partner: AuthenticatedPartner, everywhere: boolean): Promise<void> {
      if (everywhere) await repo.deleteAffiliateSessions(db, partner.affiliateId);
      else await repo.deleteSession(db, partner.idHash);
    },

    /** Who is logged in: affiliate, program and default referral link. */
    async me(partner: AuthenticatedPartner) {
      const a = await affiliatesRepo.findAffiliateById(db, partner.affiliateId);
      const p = await findProgramById(db, partner.programId);
      if (!a || !p) throw new UnauthorizedError();
      return {
        affiliate: { id: a.id, name: a.name, email: a.email, code: a.code, status: a.status },
        program: { id: p.id, name: p.name, website: p.website, currency: p.currency, minPayoutAmount: p.min_payout_amount },
        referralLink: referralLink(p.website, a.code),
        csrfToken: partner.csrfToken,
      };
    },

    /**
     * The affiliate's numbers: clicks, sale conversions and commission totals per currency (minor units):
     * `pending`, `approved`, `paid`.
     */
    async overview(partner: AuthenticatedPartner) {
      const [activity, totals] = await Promise.all([
        repo.countActivity(db, partner.affiliateId),
        repo.commissionTotals(db, partner.affiliateId),
      ]);
      const byCurrency = new Map<string, { currency: string; pending: number; approved: number; paid: number }>();
      for (const t of totals) {
        const entry = byCurrency.get(t.currency) ?? { currency: t.currency, pending: 0, approved: 0, paid: 0 };
        if (t.status === 'pending' || t.status === 'approved' || t.status === 'paid') entry[t.status] += Number(t.total);
        byCurrency.set(t.currency, entry);
      }
      return { clicks: activity.clicks, conversions: activity.conversions, earnings: [...byCurrency.values()] };
    },
  };
}
export type PartnerService = ReturnType<typeof createPartnerService>;

/**
 * CSRF check for state changes of a logged-in partner: the `X-CSRF-Token` header must equal the session's
 * token (a cross-site form cannot set headers; SameSite=Lax keeps the cookie off cross-site POSTs too).
 * @throws ForbiddenError `csrf_failed`
 */
export function assertCsrf(partner: AuthenticatedPartner, header: string | undefined): void {
  if (!header || header !== partner.csrfToken) {
    throw new ForbiddenError('Missing or wrong X-CSRF-Token header', 'csrf_failed');
  }
}
