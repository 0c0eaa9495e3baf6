/**
 * The merchant console's accounts (issue 20): console users with argon2id passwords, their memberships in programs
 * (role `owner` / `admin` / `viewer`), sessions in PostgreSQL, invitations, and the first-run setup.
 *
 * Sessions, one-time links and the lockout are the partner dashboard's mechanism (`createSubjectAccess` of
 * `partner/access/access.service.ts`) over the console's own tables (`consoleUserStore`): one implementation of
 * login limits, lockout (`LOCKOUT_THRESHOLD` failures lock `LOCKOUT_MINUTES`) and session handling for both kinds of
 * user. The per-IP and per-e-mail login limits (`rate_limits`) are shared with partner logins.
 *
 * First run: while the database holds no program and no console user, each start issues a one-time setup token
 * (`issueSetupToken`, valid `SETUP_TOKEN_TTL_HOURS`; stored hashed, an older one stops working) that the log prints
 * as `/app/setup?token=…`; `setup` consumes it and creates the owner and the first program (the programs service's
 * `create`, as `program create` does) in one transaction. A second setup is refused.
 */
import { z } from 'zod';
import { sql } from 'kysely';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { ConsoleRole, ProgramRow } from '../db/schema.ts';
import { ConflictError, ForbiddenError, NotFoundError, UnauthorizedError, UnprocessableError } from '../lib/errors.ts';
import { hashSecret, newId, newSecret } from '../lib/ids.ts';
import { parseInput } from '../lib/validate.ts';
import { type ClientInfo, createSubjectAccess, type SessionInfo } from '../partner/access/access.service.ts';
import { hashPassword, MIN_PASSWORD_LENGTH } from '../partner/access/passwords.ts';
import { createProgramInput, type CreatedProgram, type ProgramsService } from '../programs/programs.service.ts';
import { STRIPE_EVENT_HANDLERS } from '../stripe/handlers/index.ts';
import * as repo from './console.repository.ts';

export const SETUP_TOKEN_TTL_HOURS = 24;
export const CONSOLE_ROLES = ['owner', 'admin', 'viewer'] as const;

const password = z.string().min(MIN_PASSWORD_LENGTH, `must be at least ${MIN_PASSWORD_LENGTH} characters`).max(1000);

export const setupInput = z.object({
  token: z.string().min(10).max(200),
  email: z.email().max(320),
  password,
  program: createProgramInput,
});

export const consoleLoginInput = z.object({ email: z.email().max(320), password: z.string().min(1).max(1000) });
export const inviteInput = z.object({ email: z.email().max(320), role: z.enum(CONSOLE_ROLES) });
export const acceptInviteInput = z.object({ token: z.string().min(10).max(200), password });

/** A logged-in console user, as `authenticate` finds it from the session cookie. */
export interface ConsoleSession {
  idHash: string;
  userId: string;
  email: string;
  csrfToken: string;
}

/** A console user's access to one program (what `resolveProgram` answers). */
export interface ConsoleAccess {
  program: ProgramRow;
  role: ConsoleRole;
}

export interface ConsoleMe {
  user: { id: string; email: string };
  csrfToken: string;
  programs: { id: string; name: string; role: ConsoleRole }[];
}

export interface ConsoleMember {
  userId: string;
  email: string;
  role: ConsoleRole;
  /** False until the invited user has set a password. */
  active: boolean;
  joinedAt: string;
}

export interface OnboardingStatus {
  snippet: string;
  webhookUrl: string;
  /** The Stripe event types to select on the webhook endpoint (the ones partnerkit acts on). */
  eventTypes: string[];
  webhookSecretSet: boolean;
  stripeApiKeySet: boolean;
  firstClickAt: string | null;
  firstStripeEvent: { receivedAt: string; type: string } | null;
  /** Every step above is done. */
  complete: boolean;
}

export function createConsoleService(deps: { db: Db; config: Config; programs: ProgramsService; now?: () => Date }) {
  const { db, config, programs } = deps;
  const now = deps.now ?? (() => new Date());
  const access = createSubjectAccess({ db, now, store: repo.consoleUserStore, limitScope: 'console' });

  /** The user's role in the program when it is one of `roles`. @throws NotFoundError (no member); ForbiddenError `forbidden_role` */
  async function requireRole(session: ConsoleSession, programId: string, roles: readonly ConsoleRole[]) {
    const role = await repo.findRole(db, session.userId, programId);
    if (!role) throw new NotFoundError('Program');
    if (!roles.includes(role)) throw new ForbiddenError('Your role in this program cannot do this', 'forbidden_role');
    return role;
  }

  const service = {
    /**
     * On a first start (no program and no console user): a new one-time setup token, stored hashed (older unused
     * ones stop working). @returns the setup URL to print, or null when setup is done
     */
    async issueSetupToken(): Promise<string | null> {
      if ((await repo.countPrograms(db)) > 0 || (await repo.countUsers(db)) > 0) return null;
      const token = newSecret('setup');
      const at = now();
      await db
        .transaction()
        .execute((trx) =>
          repo.replaceSetupToken(
            trx,
            hashSecret(token),
            at,
            new Date(at.getTime() + SETUP_TOKEN_TTL_HOURS * 3_600_000),
          ),
        );
      return `${config.publicUrl}/app/setup?token=${token}`;
    },

    /** Whether the first-run setup is still to be done (no console user yet). */
    async setupNeeded(): Promise<{ needed: boolean }> {
      return { needed: (await repo.countUsers(db)) === 0 };
    },

    /**
     * First-run setup: consume the setup token, create the owner (argon2id password) and the first program
     * (`programs.create`), make the owner its `owner`, and start a session. One transaction, under the token's row
     * lock; refused once any console user exists.
     * @throws ValidationError; UnauthorizedError `invalid_setup_token`; ConflictError `setup_done`
     */
    async setup(input: unknown, client: ClientInfo): Promise<{ session: SessionInfo; program: CreatedProgram }> {
      const data = parseInput(setupInput, input);
      const tokenHash = hashSecret(data.token);
      if ((await repo.countUsers(db)) > 0)
        throw new ConflictError('The console is already set up; log in', 'setup_done');
      if (!(await repo.lockSetupToken(db, tokenHash, now())))
        throw new UnauthorizedError('This setup link is invalid, used or expired', 'invalid_setup_token');
      const passwordHash = await hashPassword(data.password);
      const userId = newId('usr');
      const program = await db.transaction().execute(async (trx) => {
        if (!(await repo.lockSetupToken(trx, tokenHash, now())))
          throw new UnauthorizedError('This setup link is invalid, used or expired', 'invalid_setup_token');
        // Serialises setups that hold different tokens (none should exist, but the rule is "one owner first").
        await sql`SELECT pg_advisory_xact_lock(hashtext('console_setup'))`.execute(trx);
        if ((await repo.countUsers(trx)) > 0)
          throw new ConflictError('The console is already set up; log in', 'setup_done');
        await repo.markSetupTokenUsed(trx, tokenHash, now());
        await repo.insertUser(trx, { id: userId, email: data.email, password_hash: passwordHash });
        const created = await programs.create(data.program, trx);
        await repo.upsertMembership(trx, { user_id: userId, program_id: created.id, role: 'owner' });
        return created;
      });
      return { session: await access.startSession(userId, client), program };
    },

    /**
     * Log in with e-mail and password (limits and lockout of the shared mechanism).
     * @throws ValidationError; UnauthorizedError `invalid_credentials`; RateLimitedError (429)
     */
    async login(input: unknown, client: ClientInfo): Promise<SessionInfo> {
      const data = parseInput(consoleLoginInput, input);
      return access.login(
        data.email,
        data.password,
        async () => {
          const u = await repo.findUserByEmail(db, data.email);
          return u?.password_hash ? [{ id: u.id, passwordHash: u.password_hash }] : [];
        },
        client,
      );
    },

    /** The console user behind a session cookie, or null. */
    async authenticate(sessionId: string | undefined): Promise<ConsoleSession | null> {
      const s = await access.findSession(sessionId);
      if (!s) return null;
      return { idHash: s.id_hash, userId: s.subject_id, email: s.email, csrfToken: s.csrf_token };
    },

    /**
     * The program a console session works on: `programId` when given (it must be one of the user's), else the
     * user's only program. @returns null when the user is no member of it (or has several and named none)
     */
    async resolveProgram(session: ConsoleSession, programId: string | undefined): Promise<ConsoleAccess | null> {
      const memberships = await repo.listMemberships(db, session.userId);
      const m = programId ? memberships.find((x) => x.program_id === programId) : memberships[0];
      if (!m || (!programId && memberships.length > 1)) return null;
      const program = await programs.findById(m.program_id);
      return program ? { program, role: m.role } : null;
    },

    /** Who is logged in, the session's CSRF token, and the programs with the user's role in each. */
    async me(session: ConsoleSession): Promise<ConsoleMe> {
      const memberships = await repo.listMemberships(db, session.userId);
      return {
        user: { id: session.userId, email: session.email },
        csrfToken: session.csrfToken,
        programs: memberships.map((m) => ({ id: m.program_id, name: m.name, role: m.role })),
      };
    },

    /** End this session, or all of the user's. */
    async logout(session: ConsoleSession, everywhere = false): Promise<void> {
      if (everywhere) await access.endSessions(session.userId);
      else await access.endSession(session.idHash);
    },

    /** The program's members (any member may read). @throws NotFoundError when not a member */
    async team(session: ConsoleSession, programId: string): Promise<ConsoleMember[]> {
      await requireRole(session, programId, CONSOLE_ROLES);
      return service.members(programId);
    },

    /** The program's members with their roles, oldest first (no access check: the CLI, and `team` after its own). */
    async members(programId: string): Promise<ConsoleMember[]> {
      const rows = await repo.listMembers(db, programId);
      return rows.map((r) => ({
        userId: r.id,
        email: r.email,
        role: r.role,
        active: r.active,
        joinedAt: r.created_at.toISOString(),
      }));
    },

    /**
     * Invite `email` into the program with `role` (owners and admins; only an owner makes owners). A new user gets a
     * one-time link to set a password (`addMember`: `/app/#invite=<token>`, a fragment, so it stays out of logs); an
     * existing user simply gains the membership (no link).
     * @throws ValidationError; NotFoundError; ForbiddenError `forbidden_role`
     */
    async invite(
      session: ConsoleSession,
      programId: string,
      input: unknown,
    ): Promise<{ member: ConsoleMember; inviteUrl: string | null }> {
      const data = parseInput(inviteInput, input);
      const myRole = await requireRole(session, programId, ['owner', 'admin']);
      if (data.role === 'owner' && myRole !== 'owner')
        throw new ForbiddenError('Only an owner can make owners', 'forbidden_role');
      return service.addMember(programId, data);
    },

    /**
     * Give `email` the `role` in the program, creating the user when new (the CLI's `console invite`, and `invite`
     * after its role checks). A user without a password gets a one-time link (valid `SET_PASSWORD_TTL_DAYS` days),
     * `/app/#invite=<token>`; older unused links of theirs stop working.
     * @throws ValidationError
     */
    async addMember(programId: string, input: unknown): Promise<{ member: ConsoleMember; inviteUrl: string | null }> {
      const data = parseInput(inviteInput, input);
      const { userId, isNew } = await db.transaction().execute(async (trx) => {
        const existing = await repo.findUserByEmail(trx, data.email);
        const id = existing?.id ?? newId('usr');
        if (!existing) await repo.insertUser(trx, { id, email: data.email, password_hash: null });
        await repo.upsertMembership(trx, { user_id: id, program_id: programId, role: data.role });
        return { userId: id, isNew: !existing?.password_hash };
      });
      const inviteUrl = isNew
        ? `${config.publicUrl}/app/#invite=${await access.issueToken(userId, 'set_password')}`
        : null;
      const member = (await service.members(programId)).find((m) => m.userId === userId)!;
      return { member, inviteUrl };
    },

    /**
     * Remove a member (owners and admins; an admin cannot remove an owner); the program keeps at least one owner.
     * @throws NotFoundError; ForbiddenError `forbidden_role`; UnprocessableError `last_owner`
     */
    async removeMember(session: ConsoleSession, programId: string, userId: string): Promise<void> {
      const myRole = await requireRole(session, programId, ['owner', 'admin']);
      await db.transaction().execute(async (trx) => {
        const members = await repo.lockMembers(trx, programId);
        const target = members.find((m) => m.user_id === userId);
        if (!target) throw new NotFoundError('Member');
        if (target.role === 'owner' && myRole !== 'owner')
          throw new ForbiddenError('Only an owner can remove an owner', 'forbidden_role');
        if (target.role === 'owner' && members.filter((m) => m.role === 'owner').length === 1)
          throw new UnprocessableError('A program keeps at least one owner', 'last_owner');
        await repo.deleteMembership(trx, userId, programId);
      });
    },

    /**
     * An invited user sets a password with the one-time link and is logged in.
     * @throws ValidationError; UnauthorizedError `invalid_token`; RateLimitedError
     */
    async acceptInvite(input: unknown, client: ClientInfo): Promise<SessionInfo> {
      const data = parseInput(acceptInviteInput, input);
      return access.useToken(data.token, data.password, client);
    },

    /** The onboarding checklist of a program, read live (the console polls it). */
    async onboarding(program: ProgramRow): Promise<OnboardingStatus> {
      const facts = await repo.onboardingFacts(db, program.id);
      const status = {
        snippet: `<script async src="${config.publicUrl}/pk.js" data-key="${program.public_key}"></script>`,
        webhookUrl: `${config.publicUrl}/api/v1/webhooks/stripe/${program.id}`,
        eventTypes: Object.keys(STRIPE_EVENT_HANDLERS).sort(),
        webhookSecretSet: facts.secretSet,
        stripeApiKeySet: program.stripe_api_key !== null,
        firstClickAt: facts.firstClickAt?.toISOString() ?? null,
        firstStripeEvent: facts.firstEvent
          ? { receivedAt: facts.firstEvent.at.toISOString(), type: facts.firstEvent.type }
          : null,
      };
      return {
        ...status,
        complete: status.webhookSecretSet && status.firstClickAt !== null && status.firstStripeEvent !== null,
      };
    },
  };
  return service;
}
export type ConsoleService = ReturnType<typeof createConsoleService>;
