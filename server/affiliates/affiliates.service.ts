/**
 * Affiliates of a program: creation (code generated when not given, unique per program), listing, and the
 * status lifecycle `pending → approved`, or `rejected`, `suspended` (see the glossary in ARCHITECTURE.md).
 */
import { randomBytes } from 'node:crypto';
import type { Insertable } from 'kysely';
import { z } from 'zod';
import type { Db } from '../db/database.ts';
import type { AffiliateRow, AffiliatesTable, AffiliateStatus, PartnerPayoutMethod, ProgramRow } from '../db/schema.ts';
import { ConflictError, NotFoundError } from '../lib/errors.ts';
import { newId } from '../lib/ids.ts';
import { parseInput, storableText } from '../lib/validate.ts';
import { isUniqueViolation } from '../lib/schemas.ts';
import * as repo from './affiliates.repository.ts';
import { neutraliseFormula } from '../lib/csv.ts';
import { EXPORT_COLUMNS, parseImportCsv } from './affiliates-csv.ts';

export const AFFILIATE_CODE = /^[A-Za-z0-9_-]{1,64}$/;

export const createAffiliateInput = z.object({
  email: z.email().max(320),
  name: storableText().trim().min(1).max(200),
  code: z.string().regex(AFFILIATE_CODE, 'must be 1-64 characters of A-Z a-z 0-9 _ -').optional(),
  status: z.enum(['pending', 'approved']).default('pending'),
});

/** What the affiliate list can be sorted by (`?sort=`). */
export const AFFILIATE_SORTS = ['created_at', 'name', 'earnings'] as const;

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
  /**
   * `created_at` (newest first unless `order=asc`), `name` (A→Z, any case, unless `order=desc`) or `earnings`
   * (most first unless `order=asc`: `AFFILIATE_EARNINGS` in the program's currency).
   */
  sort: z.enum(AFFILIATE_SORTS).default('created_at'),
  order: z.enum(['asc', 'desc']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

/** `POST /api/v1/affiliates/:id/reject`: an optional reason, kept on the affiliate and sent in the rejection e-mail. */
export const rejectAffiliateInput = z.object({
  reason: storableText().trim().min(1).max(500).optional(),
});

/** `GET /api/v1/affiliates/export`: the list's filters and sort, without pages (every matching affiliate). */
export const exportAffiliatesInput = listAffiliatesInput.omit({ ids: true, limit: true, offset: true });

/** `POST /api/v1/affiliates/import?status=`: the status imported affiliates get (default `approved`). */
export const importAffiliatesInput = z.object({ status: z.enum(['pending', 'approved']).default('approved') });

/** The outcome of one row of an import file (`row` 1 = the first after the header). */
export type ImportRowResult =
  | { row: number; result: 'created'; affiliate: Affiliate }
  | {
      row: number;
      result: 'skipped';
      email: string;
      reason: 'duplicate_email' | 'duplicate_code' | 'duplicate_in_file';
    }
  | { row: number; result: 'error'; email: string; reason: string };

/** What an import did: counts and one result per row, in file order. */
export interface ImportResult {
  created: number;
  skipped: number;
  errors: number;
  rows: ImportRowResult[];
}

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
  /** Why the merchant rejected the application; null unless `status` is `rejected` (and one was given). */
  rejectionReason: string | null;
  /** Where the affiliate asked to be paid (set by the affiliate in the partner dashboard); null until set. */
  payoutMethod: PartnerPayoutMethod | null;
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
    // `?? null`: outgoing-webhook payloads revive rows stored before these columns existed.
    rejectionReason: a.rejection_reason ?? null,
    payoutMethod: a.payout_method ?? null,
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

    /**
     * A page of the program's affiliates: filtered by `status`, `search` (name, e-mail or code) or `ids`, sorted by
     * `sort` / `order`, `limit` (≤ 500) from `offset`.
     * @throws ValidationError on a bad query (e.g. a `sort` not in `AFFILIATE_SORTS`)
     */
    async list(program: ProgramRow, query: unknown): Promise<Affiliate[]> {
      const q = parseInput(listAffiliatesInput, query);
      const rows = await repo.listAffiliates(db, program.id, { ...q, currency: program.currency });
      return rows.map((r) => toAffiliate(r, program));
    },

    /**
     * Import affiliates from a CSV file (`email,name,code`, see `parseImportCsv`), row by row: each valid row is
     * created with `status` (approved by default: they are partners moving from another tool; no e-mail is sent,
     * invite them with `/invite`); a row whose e-mail or code is already in the program (or earlier in the file) is
     * skipped; a row with a bad field is an error naming it. The file as a whole is checked first: a malformed one
     * writes nothing.
     * @param csv the file's bytes (≤ `IMPORT_MAX_BYTES`, checked by the caller that reads them)
     * @throws ValidationError from `parseImportCsv`, or for a bad `status`
     */
    async importCsv(program: ProgramRow, csv: Uint8Array, query: unknown = {}): Promise<ImportResult> {
      const { status } = parseInput(importAffiliatesInput, query);
      const rows = parseImportCsv(csv);
      const results: ImportRowResult[] = [];
      const seenEmails = new Set<string>();
      const seenCodes = new Set<string>();
      for (const r of rows) {
        const parsed = createAffiliateInput.safeParse({ email: r.email, name: r.name, code: r.code || undefined });
        if (!parsed.success) {
          const issue = parsed.error.issues[0]!;
          results.push({
            row: r.row,
            result: 'error',
            email: r.email,
            reason: `${issue.path.join('.') || 'row'}: ${issue.message}`,
          });
          continue;
        }
        const { email, name, code } = parsed.data;
        if (seenEmails.has(email.toLowerCase()) || (code && seenCodes.has(code))) {
          results.push({ row: r.row, result: 'skipped', email, reason: 'duplicate_in_file' });
          continue;
        }
        seenEmails.add(email.toLowerCase());
        if (code) seenCodes.add(code);
        try {
          const row = await insertWithCode({ program_id: program.id, email, name, status }, code);
          if (row) results.push({ row: r.row, result: 'created', affiliate: toAffiliate(row, program) });
          else results.push({ row: r.row, result: 'skipped', email, reason: 'duplicate_email' });
        } catch (err) {
          if (!(err instanceof ConflictError)) throw err;
          results.push({
            row: r.row,
            ...(err.code === 'code_taken'
              ? { result: 'skipped', email, reason: 'duplicate_code' }
              : { result: 'error', email, reason: err.message }),
          } as ImportRowResult);
        }
      }
      const count = (k: ImportRowResult['result']) => results.filter((x) => x.result === k).length;
      return { created: count('created'), skipped: count('skipped'), errors: count('error'), rows: results };
    },

    /**
     * Every affiliate of the program matching the list's filters, in its sort, as CSV rows (`EXPORT_COLUMNS` first):
     * read a page at a time, so a large program streams. Cells a spreadsheet would run as formulas are neutralised
     * (`neutraliseFormula`); `earnings` in minor units of the program's currency.
     * @returns the rows (the query is checked before the first is read)
     * @throws ValidationError on a bad query
     */
    exportCsv(program: ProgramRow, query: unknown): AsyncIterable<string[]> {
      const q = parseInput(exportAffiliatesInput, query);
      const currency = program.currency;
      return (async function* () {
        yield [...EXPORT_COLUMNS];
        const page = 500;
        for (let offset = 0; ; offset += page) {
          const rows = await repo.listAffiliates(db, program.id, { ...q, currency, limit: page, offset });
          const earnings = await repo.earningsOfAffiliates(
            db,
            rows.map((r) => r.id),
            currency,
          );
          for (const a of rows) {
            yield [
              a.id,
              a.email,
              a.name,
              a.code,
              a.status,
              a.rejection_reason ?? '',
              a.payout_method ?? '',
              String(earnings.get(a.id) ?? 0),
              currency,
              a.created_at.toISOString(),
            ].map(neutraliseFormula);
          }
          if (rows.length < page) return;
        }
      })();
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
     * Move an affiliate to a new status under a row lock. `reject` takes `{ reason? }` (`rejectAffiliateInput`,
     * ≤ 500 characters), kept as `rejectionReason` until the affiliate leaves `rejected` (then cleared).
     * @throws ValidationError (a bad reason); NotFoundError; ConflictError `invalid_transition` (e.g. suspending a
     *   pending affiliate)
     */
    async transition(
      program: ProgramRow,
      id: string,
      action: keyof typeof TRANSITIONS,
      input: unknown = {},
    ): Promise<Affiliate> {
      const { to, from } = TRANSITIONS[action];
      const reason = action === 'reject' ? (parseInput(rejectAffiliateInput, input).reason ?? null) : null;
      const row = await db.transaction().execute(async (trx) => {
        const current = await repo.lockAffiliate(trx, program.id, id);
        if (!current) throw new NotFoundError('Affiliate');
        if (current.status === to) {
          // Rejecting again may add or correct the reason; no second e-mail (the status does not change).
          if (action !== 'reject' || reason === null || reason === current.rejection_reason) return current;
          return (await repo.updateAffiliate(trx, program.id, id, { rejection_reason: reason }))!;
        }
        if (!from.includes(current.status)) {
          throw new ConflictError(
            `Cannot ${action} an affiliate whose status is ${current.status}`,
            'invalid_transition',
          );
        }
        return (await repo.updateAffiliate(trx, program.id, id, {
          status: to,
          status_changed_at: new Date(),
          rejection_reason: reason,
        }))!;
      });
      return toAffiliate(row, program);
    },
  };
}
export type AffiliatesService = ReturnType<typeof createAffiliatesService>;
