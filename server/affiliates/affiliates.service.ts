/**
 * Affiliates of a program: creation (code generated when not given, unique per program), listing, and the
 * status lifecycle `pending → approved`, or `rejected`, `suspended` (see the glossary in ARCHITECTURE.md).
 */
import { randomBytes } from 'node:crypto';
import type { Insertable } from 'kysely';
import { z } from 'zod';
import type { Db } from '../db/database.ts';
import type { AffiliateRow, AffiliatesTable, AffiliateStatus, ProgramRow } from '../db/schema.ts';
import { ConflictError, NotFoundError } from '../lib/errors.ts';
import { newId } from '../lib/ids.ts';
import { parseInput, storableText } from '../lib/validate.ts';
import { isUniqueViolation } from '../lib/schemas.ts';
import * as repo from './affiliates.repository.ts';

export const AFFILIATE_CODE = /^[A-Za-z0-9_-]{1,64}$/;

export const createAffiliateInput = z.object({
  email: z.email().max(320),
  name: storableText().trim().min(1).max(200),
  code: z.string().regex(AFFILIATE_CODE, 'must be 1-64 characters of A-Z a-z 0-9 _ -').optional(),
  status: z.enum(['pending', 'approved']).default('pending'),
});

export const listAffiliatesInput = z.object({
  status: z.enum(['pending', 'approved', 'rejected', 'suspended']).optional(),
  /** A part of the name, e-mail or code (any case). */
  search: storableText().trim().min(1).max(200).optional(),
  /** `?ids=a,b,c`: only these affiliates (at most 100), e.g. to name the rows of another list. */
  ids: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,100}(,[A-Za-z0-9_-]{1,100}){0,99}$/, 'must be up to 100 ids separated by commas')
    .transform((v) => v.split(','))
    .optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

/** `PATCH /api/v1/affiliates/:id`: what the merchant may change (at least one field). */
export const updateAffiliateInput = z
  .object({
    email: createAffiliateInput.shape.email,
    name: createAffiliateInput.shape.name,
    code: z.string().regex(AFFILIATE_CODE, 'must be 1-64 characters of A-Z a-z 0-9 _ -'),
  })
  .partial()
  .strict()
  .refine((d) => Object.keys(d).length > 0, 'give at least one of email, name, code');

/** The public shape of an affiliate. */
export interface Affiliate {
  id: string;
  code: string;
  email: string;
  name: string;
  status: AffiliateStatus;
  referralLink: string;
  hasPassword: boolean;
  createdAt: string;
}

export function toAffiliate(a: AffiliateRow, program: Pick<ProgramRow, 'website'>): Affiliate {
  return {
    id: a.id,
    code: a.code,
    email: a.email,
    name: a.name,
    status: a.status,
    referralLink: referralLink(program.website, a.code),
    hasPassword: a.password_hash !== null,
    createdAt: a.created_at.toISOString(),
  };
}

/** The affiliate's default link: the program's website with `?ref=<code>`. */
export function referralLink(website: string, code: string): string {
  const url = new URL(website);
  url.searchParams.set('ref', code);
  return url.toString();
}

/**
 * A readable code from the name ("Jane Doe" → "janedoe-x7k2"), random enough to rarely collide; always matches
 * `AFFILIATE_CODE` (the base keeps only `a-z0-9`). The one generator of codes (admin API and applications).
 */
function generateCode(name: string): string {
  const base = name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '')
    .slice(0, 16);
  const suffix = randomBytes(4).toString('base64url').replace(/[-_]/g, '').slice(0, 4).toLowerCase();
  return base ? `${base}-${suffix}` : `aff-${randomBytes(5).toString('hex')}`;
}

/** Allowed status transitions; the same status again is a no-op (idempotent retries). */
const TRANSITIONS: Record<'approve' | 'reject' | 'suspend', { to: AffiliateStatus; from: AffiliateStatus[] }> = {
  approve: { to: 'approved', from: ['pending', 'rejected', 'suspended'] },
  reject: { to: 'rejected', from: ['pending'] },
  suspend: { to: 'suspended', from: ['approved'] },
};

export function createAffiliatesService(deps: { db: Db }) {
  const { db } = deps;

  /**
   * Insert an affiliate with `code`, or with a generated one (`generateCode`), retrying a generated code that
   * collides in the program (at most 5 tries).
   * @returns the row, or null when the e-mail is already an affiliate of the program
   * @throws ConflictError `code_taken` (the given code is used), `code_generation_failed`
   */
  async function insertWithCode(
    row: Omit<Insertable<AffiliatesTable>, 'id' | 'code'>,
    code?: string,
  ): Promise<AffiliateRow | null> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await repo.insertAffiliate(db, { ...row, id: newId('aff'), code: code ?? generateCode(row.name) });
      } catch (err) {
        if (isUniqueViolation(err, 'affiliates_program_id_code_key')) {
          if (code) throw new ConflictError(`The code "${code}" is already used in this program`, 'code_taken');
          if (attempt >= 4)
            throw new ConflictError('Could not generate a referral code; try again', 'code_generation_failed');
          continue;
        }
        if (isUniqueViolation(err, 'affiliates_program_email_key')) return null;
        throw err;
      }
    }
  }

  return {
    /**
     * Create an affiliate in `program`.
     * @throws ValidationError on bad input; ConflictError `code_taken` / `email_taken` / `code_generation_failed`
     */
    async create(program: ProgramRow, input: unknown): Promise<Affiliate> {
      const data = parseInput(createAffiliateInput, input);
      const row = await insertWithCode(
        { program_id: program.id, email: data.email, name: data.name, status: data.status },
        data.code,
      );
      if (!row) throw new ConflictError('An affiliate with this email already exists in this program', 'email_taken');
      return toAffiliate(row, program);
    },

    /**
     * A public application to join `program` (the partner side's `apply`): a `pending` affiliate with a generated
     * code, the website and how they promote. An e-mail already known in the program changes nothing and answers
     * `{ created: false }` (the caller must not reveal which).
     * @throws ConflictError `code_generation_failed`
     */
    async createApplicant(
      program: Pick<ProgramRow, 'id'>,
      applicant: { name: string; email: string; website: string | null; promotionMethod: string; appliedAt: Date },
    ): Promise<{ created: boolean }> {
      const row = await insertWithCode({
        program_id: program.id,
        email: applicant.email,
        name: applicant.name,
        status: 'pending',
        website: applicant.website,
        promotion_method: applicant.promotionMethod,
        applied_at: applicant.appliedAt,
      });
      return { created: row !== null };
    },

    async list(program: ProgramRow, query: unknown): Promise<Affiliate[]> {
      const q = parseInput(listAffiliatesInput, query);
      const rows = await repo.listAffiliates(db, program.id, q);
      return rows.map((r) => toAffiliate(r, program));
    },

    /** @throws NotFoundError when absent or in another program */
    async get(program: ProgramRow, id: string): Promise<Affiliate> {
      const row = await repo.findAffiliate(db, program.id, id);
      if (!row) throw new NotFoundError('Affiliate');
      return toAffiliate(row, program);
    },

    /**
     * Change an affiliate's e-mail, name or code. A new code gives a new default referral link: links and cookies
     * already out keep working (they carry the link slug or the referral id), `?ref=<old code>` stops attributing.
     * @throws ValidationError; NotFoundError; ConflictError `email_taken` / `code_taken`
     */
    async update(program: ProgramRow, id: string, input: unknown): Promise<Affiliate> {
      const data = parseInput(updateAffiliateInput, input);
      try {
        const row = await repo.updateAffiliate(db, program.id, id, data);
        if (!row) throw new NotFoundError('Affiliate');
        return toAffiliate(row, program);
      } catch (err) {
        if (isUniqueViolation(err, 'affiliates_program_id_code_key'))
          throw new ConflictError(`The code "${data.code}" is already used in this program`, 'code_taken');
        if (isUniqueViolation(err, 'affiliates_program_email_key'))
          throw new ConflictError('An affiliate with this email already exists in this program', 'email_taken');
        throw err;
      }
    },

    /**
     * Delete an affiliate nothing was ever recorded for (an invitation sent to the wrong address, a spam
     * application). One with clicks, referrals, conversions, commissions or payouts is kept: suspend it instead.
     * @throws NotFoundError; ConflictError `affiliate_has_activity`
     */
    async remove(program: ProgramRow, id: string): Promise<void> {
      await db.transaction().execute(async (trx) => {
        if (!(await repo.lockAffiliate(trx, program.id, id))) throw new NotFoundError('Affiliate');
        if (await repo.hasActivity(trx, id)) {
          throw new ConflictError(
            'This affiliate has clicks, sales or payouts on record and cannot be deleted; suspend it instead',
            'affiliate_has_activity',
          );
        }
        await repo.deleteAffiliate(trx, program.id, id);
      });
    },

    /**
     * Move an affiliate to a new status under a row lock.
     * @throws NotFoundError; ConflictError `invalid_transition` (e.g. suspending a pending affiliate)
     */
    async transition(program: ProgramRow, id: string, action: keyof typeof TRANSITIONS): Promise<Affiliate> {
      const { to, from } = TRANSITIONS[action];
      const row = await db.transaction().execute(async (trx) => {
        const current = await repo.lockAffiliate(trx, program.id, id);
        if (!current) throw new NotFoundError('Affiliate');
        if (current.status === to) return current;
        if (!from.includes(current.status)) {
          throw new ConflictError(
            `Cannot ${action} an affiliate whose status is ${current.status}`,
            'invalid_transition',
          );
        }
        return (await repo.updateAffiliate(trx, program.id, id, { status: to, status_changed_at: new Date() }))!;
      });
      return toAffiliate(row, program);
    },
  };
}
export type AffiliatesService = ReturnType<typeof createAffiliatesService>;
