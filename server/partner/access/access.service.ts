/**
 * Partner access: public applications, one-time "set your password" / reset links, password login with a rate
 * limit and an account lockout, and server-side sessions stored in PostgreSQL (the cookie carries a random id; we
 * store only its SHA-256).
 *
 * Two layers:
 * - `createSubjectAccess`: the mechanism (sessions, one-time tokens, lockout-guarded login, password changes) for
 *   any kind of `subject` over a `SubjectStore` (`access.repository.ts`); it knows nothing of affiliates;
 * - `createAccessService`: the partner dashboard's use of it, with affiliates as subjects.
 *
 * Isolation: everything after login takes the affiliate from the authenticated session (`AuthenticatedPartner`),
 * never from the request.
 */
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { consumeAll, sharedRateLimiter } from '../../db/shared-rate-limiter.ts';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/database.ts';
import type { AffiliateRow, ProgramRow } from '../../db/schema.ts';
import { NotFoundError, RateLimitedError, UnauthorizedError, UnprocessableError } from '../../lib/errors.ts';
import { hashSecret, newSecret } from '../../lib/ids.ts';
import { idFilter, isStorableText, NOT_STORABLE, parseInput, storableText } from '../../lib/validate.ts';
import * as affiliatesRepo from '../../affiliates/affiliates.repository.ts';
import type { AffiliatesService } from '../../affiliates/affiliates.service.ts';
import { findProgramById } from '../../programs/programs.repository.ts';
import type { Mailer } from '../../mail/mailer.ts';
import type { MailOutbox } from '../../mail/outbox.service.ts';
import { decoyHash, hashPassword, MIN_PASSWORD_LENGTH, verifyPassword } from './passwords.ts';
import * as mails from './access.mails.ts';
import * as repo from './access.repository.ts';
import type { SessionRow, SubjectStore, TokenPurpose } from './access.repository.ts';

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

export interface SessionInfo {
  /** The cookie value (random secret). */
  sessionId: string;
  csrfToken: string;
  subjectId: string;
}

/** A logged-in affiliate, as `authenticate` finds it from the session cookie. */
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

function throwRateLimited(msBeforeNext: number, message = 'Too many attempts; try again later'): never {
  throw new RateLimitedError(message, Math.max(1, Math.ceil(msBeforeNext / 1000)));
}

/** An e-mail address as a rate-limit key: lower-cased and hashed (the table keeps no typed-in addresses). */
const emailKey = (email: string) => createHash('sha256').update(email.toLowerCase()).digest('base64url').slice(0, 22);

/**
 * The access mechanism for one kind of subject over its `store`: sessions, one-time tokens, the lockout-guarded
 * password check and password changes. Rate limits are counted in PostgreSQL (`rate_limits`, shared by every
 * process on this database; keys are IPs and hashed e-mail addresses), per `limitScope`.
 */
export function createSubjectAccess<S extends SessionRow>(deps: {
  db: Db;
  now: () => Date;
  store: SubjectStore<S>;
  /**
   * Counts this kind of subject's login and token failures apart from other kinds' (e.g. `console`), so that a
   * flood of failed partner logins from one address does not lock the merchant's console out, and the reverse.
   * Without it: the partner counters.
   */
  limitScope?: string;
}) {
  const { db, now, store } = deps;
  const scoped = (prefix: string) => (deps.limitScope ? `${deps.limitScope}_${prefix}` : prefix);
  // Every limit here is counted in PostgreSQL (`rate_limits`, migration 0012), so it holds across all processes on
  // this database, and each attempt is counted BEFORE the work it guards (argon2, mail), so a parallel burst
  // stops at the limit. Login failures per e-mail + IP, and per IP across e-mails (credential stuffing): the
  // per-account lockout (LOCKOUT_THRESHOLD, on the subject's row) trips first for known accounts; these also cover
  // unknown e-mails. A login that succeeds gives its points back.
  const loginPerEmailIp = sharedRateLimiter(db, {
    keyPrefix: scoped('login_email_ip'),
    points: LOGIN_FAILURES_PER_EMAIL_IP,
    duration: LOCKOUT_MINUTES * 60,
    prune: true,
  });
  const loginPerIp = sharedRateLimiter(db, {
    keyPrefix: scoped('login_ip'),
    points: LOGIN_FAILURES_PER_IP,
    duration: LOCKOUT_MINUTES * 60,
  });
  // Set-password and reset-link submissions per IP (a used link gives its point back).
  const tokenPerIp = sharedRateLimiter(db, {
    keyPrefix: scoped('token_ip'),
    points: TOKEN_FAILURES_PER_IP,
    duration: 3600,
  });

  const access = {
    /** A new session of `subjectId` (valid `SESSION_TTL_DAYS`); the id is returned once and stored hashed. */
    async startSession(subjectId: string, client: ClientInfo): Promise<SessionInfo> {
      const sessionId = newSecret('ps');
      const csrfToken = randomBytes(24).toString('base64url');
      await store.insertSession(db, {
        id_hash: hashSecret(sessionId),
        subject_id: subjectId,
        csrf_token: csrfToken,
        ip: client.ip,
        user_agent: client.userAgent?.slice(0, 500) ?? null,
        expires_at: new Date(now().getTime() + SESSION_TTL_DAYS * DAY_MS),
      });
      return { sessionId, csrfToken, subjectId };
    },

    /** The live session behind a cookie value, or null (absent, malformed, expired, or the subject cannot log in). */
    async findSession(sessionId: string | undefined): Promise<S | null> {
      if (!sessionId || sessionId.length > 200) return null;
      const at = now();
      const s = await store.findSession(db, hashSecret(sessionId), at);
      if (!s?.can_log_in) return null;
      // Keep "last seen" roughly current without a write per request.
      if (at.getTime() - s.last_seen_at.getTime() > 5 * MINUTE_MS) await store.touchSession(db, s.id_hash, at);
      return s;
    },

    /** End one session (by its hash), or every session of `subjectId` but `exceptIdHash`. */
    endSession: (idHash: string) => store.deleteSession(db, idHash),
    endSessions: (subjectId: string, exceptIdHash?: string) => store.deleteSubjectSessions(db, subjectId, exceptIdHash),

    /**
     * A one-time token of `purpose` for `subjectId`, valid `SET_PASSWORD_TTL_DAYS` days (a reset:
     * `RESET_PASSWORD_TTL_MINUTES`); older unused tokens of that purpose stop working.
     */
    async issueToken(subjectId: string, purpose: TokenPurpose): Promise<string> {
      const token = newSecret('pt');
      const ttl = purpose === 'set_password' ? SET_PASSWORD_TTL_DAYS * DAY_MS : RESET_PASSWORD_TTL_MINUTES * MINUTE_MS;
      await db.transaction().execute(async (trx) => {
        // A new link replaces older unused ones of the same purpose: a leaked old link stops working.
        await store.retireTokens(trx, subjectId, purpose, now());
        await store.insertToken(trx, {
          token_hash: hashSecret(token),
          subject_id: subjectId,
          purpose,
          expires_at: new Date(now().getTime() + ttl),
        });
      });
      return token;
    },

    /**
     * Consume a one-time token: store the argon2id hash of `password`, clear any lockout, end the subject's other
     * sessions and start a new one. Each submission first takes a point of the per-IP limit
     * (`TOKEN_FAILURES_PER_IP` an hour; a used token gives it back), and a token that is unknown, used or expired
     * is refused by a look-up of its hash, before any argon2 hashing.
     * @throws UnauthorizedError `invalid_token`; RateLimitedError (429, `Retry-After`)
     */
    async useToken(token: string, password: string, client: ClientInfo): Promise<SessionInfo> {
      const ipKey = client.ip ?? '';
      const wait = await consumeAll([[tokenPerIp, ipKey]]);
      if (wait !== null) throwRateLimited(wait, 'Too many attempts with set-password links; try again later');
      const usable = await store.findUsableToken(db, hashSecret(token), now());
      if (!usable) throw new UnauthorizedError('This link is invalid, already used or expired', 'invalid_token');
      if (!usable.can_log_in) throw new UnauthorizedError('This account cannot log in', 'invalid_token');
      const passwordHash = await hashPassword(password);
      const subjectId = await db.transaction().execute(async (trx) => {
        const t = await store.lockUsableToken(trx, hashSecret(token), now());
        if (!t) throw new UnauthorizedError('This link is invalid, already used or expired', 'invalid_token');
        if (!(await store.canLogIn(trx, t.subject_id)))
          throw new UnauthorizedError('This account cannot log in', 'invalid_token');
        await store.markTokenUsed(trx, t.token_hash, now());
        await store.setPasswordHash(trx, t.subject_id, passwordHash);
        await store.deleteSubjectSessions(trx, t.subject_id);
        return t.subject_id;
      });
      await tokenPerIp.reward(ipKey, 1);
      return access.startSession(subjectId, client);
    },

    /**
     * Log in as the first of `candidates` (the subjects this e-mail may be, with their stored hashes) whose
     * password matches. Every attempt is counted before its argon2 verification, atomically in PostgreSQL:
     * - per e-mail + IP (`LOGIN_FAILURES_PER_EMAIL_IP`) and per IP (`LOGIN_FAILURES_PER_IP`) per `LOCKOUT_MINUTES`;
     *   a successful login gives its points back, so only failures use them up;
     * - per account: `LOCKOUT_THRESHOLD` consecutive failures lock it for `LOCKOUT_MINUTES`
     *   (`reserveLoginAttempt`); a correct password is refused meanwhile; a success clears the count; a reset
     *   link unlocks it. Of a parallel burst of wrong passwords exactly `LOCKOUT_THRESHOLD` are verified.
     * `candidates` is called after the rate limits are counted (its look-up is work they guard).
     * @throws UnauthorizedError `invalid_credentials`; RateLimitedError (429, `Retry-After`)
     */
    async login(
      email: string,
      password: string,
      candidates: () => Promise<{ id: string; passwordHash: string }[]>,
      client: ClientInfo,
    ): Promise<SessionInfo> {
      const emailIpKey = `${emailKey(email)}|${client.ip ?? ''}`;
      const ipKey = client.ip ?? '';
      const wait = await consumeAll([
        [loginPerEmailIp, emailIpKey],
        [loginPerIp, ipKey],
      ]);
      if (wait !== null) throwRateLimited(wait, 'Too many failed logins; try again later or reset your password');
      const at = now();
      const lockUntil = new Date(at.getTime() + LOCKOUT_MINUTES * MINUTE_MS);
      const subjects = await candidates();
      let refused = 0;
      for (const s of subjects) {
        // Counted first: a parallel burst cannot all be verified before the first failure is recorded.
        if ((await store.reserveLoginAttempt(db, s.id, LOCKOUT_THRESHOLD, at, lockUntil)) === null) {
          refused++;
          continue;
        }
        if (await verifyPassword(s.passwordHash, password)) {
          await store.clearFailedLogins(db, s.id);
          await Promise.all([loginPerEmailIp.delete(emailIpKey), loginPerIp.reward(ipKey, 1)]);
          return access.startSession(s.id, client);
        }
      }
      if (subjects.length > 0 && refused === subjects.length) {
        const until = await Promise.all(subjects.map((s) => store.lockedUntil(db, s.id, at)));
        const soonest = Math.min(...until.map((u) => u?.getTime() ?? lockUntil.getTime()));
        // From now, not from `at`: a parallel attempt that read the clock later may have set the lock.
        throwRateLimited(soonest - now().getTime(), 'Too many failed logins; try again later or reset your password');
      }
      if (subjects.length === 0) await verifyPassword(await decoyHash(), password);
      throw new UnauthorizedError('Wrong email or password', 'invalid_credentials');
    },

    /**
     * Check the password of a logged-in subject before a sensitive change (a new password, payout method, Stripe
     * account): a stolen session must not be able to guess it. Counted like a login against the account's lockout
     * (`reserveLoginAttempt`: `LOCKOUT_THRESHOLD` wrong passwords lock it for `LOCKOUT_MINUTES`, login included);
     * a right one clears the count.
     * @throws UnauthorizedError `invalid_credentials` (with `wrongMessage`); RateLimitedError (429) while locked
     */
    async confirmPassword(
      subject: { id: string; passwordHash: string | null },
      password: string,
      wrongMessage = 'The password is wrong',
    ): Promise<void> {
      const at = now();
      const lockUntil = new Date(at.getTime() + LOCKOUT_MINUTES * MINUTE_MS);
      if ((await store.reserveLoginAttempt(db, subject.id, LOCKOUT_THRESHOLD, at, lockUntil)) === null) {
        const until = await store.lockedUntil(db, subject.id, at);
        throwRateLimited((until ?? lockUntil).getTime() - now().getTime(), 'Too many wrong passwords; try again later');
      }
      if (!subject.passwordHash || !(await verifyPassword(subject.passwordHash, password))) {
        throw new UnauthorizedError(wrongMessage, 'invalid_credentials');
      }
      await store.clearFailedLogins(db, subject.id);
    },

    /**
     * Replace the subject's password after checking the current one (`confirmPassword`); its other sessions end,
     * `keepIdHash` stays.
     * @throws UnauthorizedError `invalid_credentials` (wrong current password); RateLimitedError while locked
     */
    async changePassword(
      subject: { id: string; passwordHash: string | null },
      currentPassword: string,
      newPassword: string,
      keepIdHash: string,
    ): Promise<void> {
      await access.confirmPassword(subject, currentPassword, 'The current password is wrong');
      const passwordHash = await hashPassword(newPassword);
      await db.transaction().execute(async (trx) => {
        await store.setPasswordHash(trx, subject.id, passwordHash);
        await store.deleteSubjectSessions(trx, subject.id, keepIdHash);
      });
    },
  };
  return access;
}

/**
 * The affiliate of a session. @throws UnauthorizedError `not_logged_in` when it is gone
 */
export async function requireAffiliate(db: Db, partner: AuthenticatedPartner): Promise<AffiliateRow> {
  const a = await affiliatesRepo.findAffiliateById(db, partner.affiliateId);
  if (!a) throw new UnauthorizedError('Log in first', 'not_logged_in');
  return a;
}

/** The program of a session's affiliate. @throws UnauthorizedError `not_logged_in` when it is gone */
export async function requireProgram(db: Db, partner: AuthenticatedPartner): Promise<ProgramRow> {
  const p = await findProgramById(db, partner.programId);
  if (!p) throw new UnauthorizedError('Log in first', 'not_logged_in');
  return p;
}

/** The partner dashboard's access, with affiliates as the subjects of `createSubjectAccess`. */
export function createAccessService(deps: {
  db: Db;
  config: Config;
  mailer: Mailer;
  mailOutbox?: Pick<MailOutbox, 'attachSetPasswordLink'>;
  affiliates: Pick<AffiliatesService, 'createApplicant'>;
  now?: () => Date;
}) {
  const { db, config, mailer, affiliates } = deps;
  const now = deps.now ?? (() => new Date());
  const access = createSubjectAccess({ db, now, store: repo.affiliateStore });
  // Public forms: applications and reset requests per IP; reset mails per e-mail address.
  const applyPerIp = sharedRateLimiter(db, { keyPrefix: 'apply_ip', points: 10, duration: 3600 });
  const resetPerIp = sharedRateLimiter(db, { keyPrefix: 'reset_ip', points: 20, duration: 3600 });
  const resetPerEmail = sharedRateLimiter(db, { keyPrefix: 'reset_email', points: 3, duration: 3600 });

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
      purpose: TokenPurpose = 'set_password',
    ): Promise<string> {
      const token = await access.issueToken(affiliate.id, purpose);
      const fragment = purpose === 'set_password' ? 'set-password' : 'reset-password';
      return `${config.publicUrl}/partner/#${fragment}=${token}`;
    },

    /**
     * Issue a set-password link for an approved affiliate and e-mail it (when SMTP is configured; otherwise
     * the mail is logged). Used on approval, on direct invites, and by the CLI. Right after an approval the link
     * rides in the approval's outbox mail (one e-mail, sent by the `send-emails` job); otherwise it is sent here.
     * @returns the link (always) and whether an e-mail was accepted by the SMTP server (queued, for an approval)
     * @throws NotFoundError (no such affiliate)
     */
    async sendSetPasswordLink(affiliateId: string): Promise<{ setPasswordUrl: string; emailSent: boolean }> {
      const a = await affiliatesRepo.findAffiliateById(db, affiliateId);
      if (!a) throw new NotFoundError('Affiliate');
      const p = (await findProgramById(db, a.program_id))!;
      const setPasswordUrl = await service.issueSetPasswordLink(a);
      if (deps.mailOutbox && (await deps.mailOutbox.attachSetPasswordLink(a, setPasswordUrl)))
        return { setPasswordUrl, emailSent: mailer.configured };
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
     * promote (`affiliates.createApplicant`). An e-mail already known in the program gets the same answer and
     * changes nothing (the form must not reveal who is an affiliate).
     * @throws ValidationError; NotFoundError `unknown_program`; RateLimitedError (10 per IP per hour);
     *   ConflictError `code_generation_failed`
     */
    async apply(programId: string, input: unknown, client: ClientInfo): Promise<{ status: 'pending' }> {
      const id = parseInput(programIdParam, programId);
      const data = parseInput(applyInput, input);
      const program = await findProgramById(db, id);
      if (!program) throw new NotFoundError('Program', 'unknown_program');
      const wait = client.ip ? await consumeAll([[applyPerIp, client.ip]]) : null;
      if (wait !== null) throwRateLimited(wait, 'Too many applications from this address');
      await affiliates.createApplicant(program, {
        name: data.name,
        email: data.email,
        website: data.website ?? null,
        promotionMethod: data.promotionMethod,
        appliedAt: now(),
      });
      return { status: 'pending' };
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
     * Consume a set-password or reset token (`createSubjectAccess().useToken`) and log in.
     * @throws ValidationError (weak password); UnauthorizedError `invalid_token` (unknown, used or expired, or the
     *   affiliate cannot log in); RateLimitedError (429, `Retry-After`)
     */
    async setPassword(input: unknown, client: ClientInfo): Promise<SessionInfo> {
      const data = parseInput(setPasswordInput, input);
      return access.useToken(data.token, data.password, client);
    },

    /**
     * Log in with e-mail and password. The same e-mail may be an affiliate of several programs: `program`
     * picks one; otherwise the first approved affiliate whose password matches. Limits and lockout:
     * `createSubjectAccess().login`.
     * @throws UnauthorizedError `invalid_credentials`; RateLimitedError (429, `Retry-After`)
     */
    async login(input: unknown, client: ClientInfo): Promise<SessionInfo> {
      const data = parseInput(loginInput, input);
      const candidates = async () =>
        (await affiliatesRepo.findAffiliatesByEmail(db, data.email, data.program))
          .filter((a) => a.status === 'approved' && a.password_hash)
          .map((a) => ({ id: a.id, passwordHash: a.password_hash! }));
      return access.login(data.email, data.password, candidates, client);
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
      const found = (await affiliatesRepo.findAffiliatesByEmail(db, data.email, data.program)).filter(
        (a) => a.status === 'approved',
      );
      const mailsOut: Promise<boolean>[] = [];
      for (const a of found) {
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
      const s = await access.findSession(sessionId);
      if (!s) return null;
      return { idHash: s.id_hash, affiliateId: s.subject_id, programId: s.program_id, csrfToken: s.csrf_token };
    },

    /** End this session, or every session of the affiliate ("log out everywhere"). */
    async logout(partner: AuthenticatedPartner, everywhere: boolean): Promise<void> {
      if (everywhere) await access.endSessions(partner.affiliateId);
      else await access.endSession(partner.idHash);
    },

    /**
     * Confirm the logged-in affiliate's password before a sensitive change (`confirmPassword` of the mechanism).
     * @throws UnauthorizedError `invalid_credentials`; RateLimitedError (429) while the account is locked
     */
    confirmAffiliatePassword(affiliate: Pick<AffiliateRow, 'id' | 'password_hash'>, password: string): Promise<void> {
      return access.confirmPassword({ id: affiliate.id, passwordHash: affiliate.password_hash }, password);
    },

    /**
     * Change the password while logged in; other sessions end, this one stays.
     * @throws ValidationError; UnauthorizedError `invalid_credentials` (wrong current password); RateLimitedError
     */
    async changePassword(partner: AuthenticatedPartner, input: unknown): Promise<void> {
      const data = parseInput(changePasswordInput, input);
      const a = await requireAffiliate(db, partner);
      await access.changePassword(
        { id: a.id, passwordHash: a.password_hash },
        data.currentPassword,
        data.newPassword,
        partner.idHash,
      );
    },
  };
  return service;
}
export type AccessService = ReturnType<typeof createAccessService>;
