/**
 * The partner's tax details: legal name, country (ISO 3166-1 alpha-2) and tax id (an SSN/EIN for a US merchant's
 * 1099-NEC, a VAT or national tax number elsewhere). What Rewardful and Tolt collect through W-9 / W-8 forms, at the
 * least a merchant needs to report what it paid.
 *
 * - The tax id is sealed with the secret box (`lib/secrets.ts`, purpose `affiliate_tax_id`, bound to the affiliate
 *   id: a sealed value copied onto another affiliate does not open) and never answered in clear: every answer
 *   (partner, admin API, yearly export) shows `•••• 1234`, from the last four characters stored beside it.
 * - Saving needs the current password (`confirmAffiliatePassword`, with its lockout), as the payout method does.
 * - `sweep` re-seals every stored tax id under `SECRET_KEY` (`npm run cli -- secrets rotate`).
 */
import { z } from 'zod';
import type { Db } from '../db/database.ts';
import type { AffiliateRow } from '../db/schema.ts';
import { NotFoundError } from '../lib/errors.ts';
import { isSealed, SecretDecryptionError, type SecretBox } from '../lib/secrets.ts';
import { parseInput, storableText } from '../lib/validate.ts';
import { requireAffiliate, type AuthenticatedPartner } from './access/access.service.ts';

const TAX_PURPOSE = 'affiliate_tax_id' as const;
const PAGE = 500;

export const taxInfoInput = z
  .object({
    /** The name the partner files taxes under (a person's or a company's). */
    legalName: storableText().trim().min(1, 'is required').max(200),
    country: z
      .string()
      .trim()
      .toUpperCase()
      .regex(/^[A-Z]{2}$/, 'must be a 2-letter country code'),
    /** Letters, digits, spaces, `-`, `.` and `/`, 4 to 40 characters (SSN `123-45-6789`, EIN, VAT `DE123456789`). */
    taxId: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9 ./-]{4,40}$/, 'must be 4 to 40 letters, digits, spaces, dots, dashes or slashes')
      .refine((s) => s.replace(/[^A-Za-z0-9]/g, '').length >= 4, 'must have at least 4 letters or digits'),
    password: z.string().min(1).max(1000),
  })
  .strict();

/** Tax details as every answer shows them; `taxId` masked (`•••• 6789`). All null when none are on file. */
export interface TaxInfo {
  legalName: string | null;
  country: string | null;
  taxId: string | null;
  updatedAt: string | null;
}

/** The tax id as shown everywhere: its last four letters or digits after `•••• `. */
export function maskTaxId(last4: string): string {
  return `•••• ${last4}`;
}

const NONE: TaxInfo = { legalName: null, country: null, taxId: null, updatedAt: null };

/** What a tax-id sweep did, counted per stored tax id. */
export interface TaxIdSweep {
  /** Opened only with `SECRET_KEY_PREVIOUS` and re-sealed under `SECRET_KEY`. */
  reencrypted: number;
  /** Already under `SECRET_KEY`. */
  current: number;
  /** Changed by the partner during the sweep (left: written with the current key). */
  changed: number;
  /** Open with neither key (where, never what). */
  failed: { affiliateId: string; programId: string }[];
}

/**
 * @param deps.confirmPassword the lockout-guarded password check of partner access (`confirmAffiliatePassword`)
 */
export function createTaxInfoService(deps: {
  db: Db;
  box: SecretBox;
  confirmPassword: (affiliate: Pick<AffiliateRow, 'id' | 'password_hash'>, password: string) => Promise<void>;
  now?: () => Date;
}) {
  const { db, box } = deps;
  const now = deps.now ?? (() => new Date());

  const read = async (programId: string, affiliateId: string): Promise<TaxInfo> => {
    const row = await db
      .selectFrom('affiliate_tax_info')
      .select(['legal_name', 'country', 'tax_id_last4', 'updated_at'])
      .where('program_id', '=', programId)
      .where('affiliate_id', '=', affiliateId)
      .executeTakeFirst();
    if (!row) return { ...NONE };
    return {
      legalName: row.legal_name,
      country: row.country,
      taxId: maskTaxId(row.tax_id_last4),
      updatedAt: row.updated_at.toISOString(),
    };
  };

  return {
    /** The logged-in partner's tax details (tax id masked). */
    async taxInfo(partner: AuthenticatedPartner): Promise<TaxInfo> {
      return read(partner.programId, partner.affiliateId);
    },

    /**
     * Save the partner's legal name, country and tax id (sealed); needs the current password.
     * @param input `{ legalName, country, taxId, password }`
     * @throws ValidationError naming the field; UnauthorizedError `invalid_credentials`; RateLimitedError (locked)
     */
    async updateTaxInfo(partner: AuthenticatedPartner, input: unknown): Promise<TaxInfo> {
      const data = parseInput(taxInfoInput, input);
      const a = await requireAffiliate(db, partner);
      await deps.confirmPassword(a, data.password);
      const values = {
        legal_name: data.legalName,
        country: data.country,
        tax_id: box.seal(TAX_PURPOSE, data.taxId, a.id),
        tax_id_last4: data.taxId.replace(/[^A-Za-z0-9]/g, '').slice(-4),
        updated_at: now(),
      };
      await db
        .insertInto('affiliate_tax_info')
        .values({ program_id: partner.programId, affiliate_id: a.id, ...values })
        .onConflict((oc) => oc.columns(['program_id', 'affiliate_id']).doUpdateSet(values))
        .execute();
      return read(partner.programId, a.id);
    },

    /**
     * An affiliate's tax details for the merchant (tax id masked).
     * @throws NotFoundError `affiliate_not_found` when the affiliate is not the program's
     */
    async affiliateTaxInfo(programId: string, affiliateId: string): Promise<TaxInfo> {
      const a = await db
        .selectFrom('affiliates')
        .select('id')
        .where('program_id', '=', programId)
        .where('id', '=', affiliateId)
        .executeTakeFirst();
      if (!a) throw new NotFoundError('Affiliate', 'affiliate_not_found');
      return read(programId, affiliateId);
    },

    /**
     * Go over every stored tax id; with `reencrypt`, re-seal under `SECRET_KEY` those only `SECRET_KEY_PREVIOUS`
     * opens. Each row changes only if it still holds the value read, so a partner's concurrent save wins.
     */
    async sweep(opts: { reencrypt: boolean }): Promise<TaxIdSweep> {
      const out: TaxIdSweep = { reencrypted: 0, current: 0, changed: 0, failed: [] };
      let after = { programId: '', affiliateId: '' };
      for (;;) {
        const rows = await db
          .selectFrom('affiliate_tax_info')
          .select(['program_id', 'affiliate_id', 'tax_id'])
          .where((eb) =>
            eb.or([
              eb('program_id', '>', after.programId),
              eb.and([eb('program_id', '=', after.programId), eb('affiliate_id', '>', after.affiliateId)]),
            ]),
          )
          .orderBy('program_id')
          .orderBy('affiliate_id')
          .limit(PAGE)
          .execute();
        for (const row of rows) {
          let to: string | null = null;
          try {
            if (!isSealed(row.tax_id)) throw new SecretDecryptionError(TAX_PURPOSE, row.affiliate_id, 'not sealed');
            const { plaintext, key } = box.unseal(TAX_PURPOSE, row.tax_id, row.affiliate_id);
            if (key === 'current') out.current++;
            else if (opts.reencrypt) to = box.seal(TAX_PURPOSE, plaintext, row.affiliate_id);
          } catch (err) {
            if (!(err instanceof SecretDecryptionError)) throw err;
            out.failed.push({ affiliateId: row.affiliate_id, programId: row.program_id });
          }
          if (to === null) continue;
          const res = await db
            .updateTable('affiliate_tax_info')
            .set({ tax_id: to })
            .where('program_id', '=', row.program_id)
            .where('affiliate_id', '=', row.affiliate_id)
            .where('tax_id', '=', row.tax_id)
            .executeTakeFirst();
          if (Number(res.numUpdatedRows) === 1) out.reencrypted++;
          else out.changed++;
        }
        if (rows.length < PAGE) break;
        const last = rows[rows.length - 1]!;
        after = { programId: last.program_id, affiliateId: last.affiliate_id };
      }
      return out;
    },
  };
}
export type TaxInfoService = ReturnType<typeof createTaxInfoService>;
