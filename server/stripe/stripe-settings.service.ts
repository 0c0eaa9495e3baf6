/**
 * A program's Stripe settings beyond webhook secrets: the restricted API key we read missing data with, and the
 * affiliates' coupon codes mapped to Stripe promotion codes (a checkout that used one is the affiliate's).
 */
import { z } from 'zod';
import type { Db } from '../db/database.ts';
import type { ProgramRow } from '../db/schema.ts';
import { ConflictError, NotFoundError } from '../lib/errors.ts';
import { STRIPE_KEY_PERMISSIONS, type StripeApi, type StripeKeyTest, stripeKeyMode } from './stripe-api.ts';
import { newId } from '../lib/ids.ts';
import { idFilter, idText, parseInput, storableText } from '../lib/validate.ts';
import { findAffiliate } from '../affiliates/affiliates.repository.ts';
import type { ProgramSecrets } from '../programs/program-secrets.ts';

/**
 * A restricted key (`rk_live_…` / `rk_test_…`, read access to customers, subscriptions, charges and invoices) or
 * a secret key. Source: https://docs.stripe.com/keys#limit-access
 */
export const stripeApiKeyInput = z
  .string()
  .trim()
  .regex(/^(rk|sk)_(test|live)_[A-Za-z0-9]{8,}$/, 'must be a Stripe key (rk_live_… or rk_test_…)');

export const createPromotionCodeInput = z.strictObject({
  affiliateId: idText,
  /** Stripe's id of the promotion code, `promo_…`. */
  stripePromotionCodeId: z
    .string()
    .regex(/^promo_[A-Za-z0-9_]{1,250}$/, 'must be a Stripe promotion code id (promo_…)'),
  /** What customers type, e.g. JANE20. */
  code: storableText().trim().min(1).max(200).optional(),
});

/** `POST /api/v1/program/stripe-key/test` `{ key? }`: a key to try before saving it; without one, the stored key. */
export const testStripeKeyInput = z.strictObject({ key: stripeApiKeyInput.optional() });

/** The program's Stripe key as the console shows it: whether one is set, its mode, the permissions it needs. */
export interface StripeKeyStatus {
  set: boolean;
  /** From the stored key's prefix; null without a key. */
  mode: 'test' | 'live' | null;
  permissions: { permission: string; use: string; checked: boolean }[];
}

export const listPromotionCodesInput = z.object({ affiliateId: idFilter });

export interface PromotionCode {
  id: string;
  affiliateId: string;
  stripePromotionCodeId: string;
  code: string | null;
  createdAt: string;
}

/**
 * @param deps.programSecrets seals the API key before it is stored (`programs/program-secrets.ts`)
 * @param deps.stripeApi the Stripe client factory the webhooks use (tests: a loopback fake)
 */
export function createStripeSettingsService(deps: { db: Db; programSecrets: ProgramSecrets; stripeApi: StripeApi }) {
  const { db, programSecrets } = deps;
  return {
    /** Whether the program has a Stripe key, its mode, and the permissions it needs (`STRIPE_KEY_PERMISSIONS`). */
    apiKeyStatus(program: ProgramRow): StripeKeyStatus {
      const key = programSecrets.apiKey(program);
      return {
        set: key !== null,
        mode: key === null ? null : stripeKeyMode(key),
        permissions: STRIPE_KEY_PERMISSIONS.map((p) => ({ permission: p.permission, use: p.use, checked: !!p.list })),
      };
    },

    /**
     * Test a Stripe key against Stripe (`StripeApi.testKey`): `input.key` when given (not stored), else the
     * program's stored key. The answer says ok or what failed (refused key, missing permission, Stripe unreachable).
     * @throws ValidationError for a value that is not a Stripe key; ConflictError `stripe_key_missing` (409) when
     *   neither a key is given nor one stored
     */
    async testApiKey(program: ProgramRow, input: unknown): Promise<StripeKeyTest> {
      const d = parseInput(testStripeKeyInput, input ?? {});
      const key = d.key ?? programSecrets.apiKey(program);
      if (!key) throw new ConflictError('Set a Stripe restricted key first', 'stripe_key_missing');
      return deps.stripeApi.testKey(key);
    },

    /**
     * Set (or clear with null) the program's Stripe API key; it is stored encrypted (`lib/secrets.ts`).
     * @throws ValidationError for a value that is not a Stripe key; NotFoundError `unknown_program`
     */
    async setApiKey(programId: string, key: string | null): Promise<void> {
      const value = key === null ? null : programSecrets.sealApiKey(programId, parseInput(stripeApiKeyInput, key));
      const res = await db
        .updateTable('programs')
        .set({ stripe_api_key: value })
        .where('id', '=', programId)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) throw new NotFoundError('Program', 'unknown_program');
    },

    /**
     * Map a Stripe promotion code to an affiliate of the program.
     * @throws ValidationError; NotFoundError `unknown_affiliate`; ConflictError `promotion_code_taken`
     */
    async addPromotionCode(program: ProgramRow, input: unknown): Promise<PromotionCode> {
      const data = parseInput(createPromotionCodeInput, input);
      const affiliate = await findAffiliate(db, program.id, data.affiliateId);
      if (!affiliate) throw new NotFoundError('Affiliate', 'unknown_affiliate');
      const row = await db
        .insertInto('affiliate_promotion_codes')
        .values({
          id: newId('apc'),
          program_id: program.id,
          affiliate_id: affiliate.id,
          stripe_promotion_code_id: data.stripePromotionCodeId,
          code: data.code ?? null,
        })
        .onConflict((oc) => oc.doNothing())
        .returningAll()
        .executeTakeFirst();
      if (!row)
        throw new ConflictError(
          'This promotion code (or code) already belongs to an affiliate of the program',
          'promotion_code_taken',
        );
      return toPromotionCode(row);
    },

    async listPromotionCodes(program: ProgramRow, query: unknown): Promise<PromotionCode[]> {
      const q = parseInput(listPromotionCodesInput, query);
      let sel = db.selectFrom('affiliate_promotion_codes').selectAll().where('program_id', '=', program.id);
      if (q.affiliateId) sel = sel.where('affiliate_id', '=', q.affiliateId);
      return (await sel.orderBy('created_at').orderBy('id').limit(1000).execute()).map(toPromotionCode);
    },

    /** @throws NotFoundError */
    async removePromotionCode(program: ProgramRow, id: string): Promise<void> {
      const res = await db
        .deleteFrom('affiliate_promotion_codes')
        .where('program_id', '=', program.id)
        .where('id', '=', id)
        .executeTakeFirst();
      if (Number(res.numDeletedRows) === 0) throw new NotFoundError('Promotion code');
    },
  };
}
export type StripeSettingsService = ReturnType<typeof createStripeSettingsService>;

function toPromotionCode(r: {
  id: string;
  affiliate_id: string;
  stripe_promotion_code_id: string;
  code: string | null;
  created_at: Date;
}): PromotionCode {
  return {
    id: r.id,
    affiliateId: r.affiliate_id,
    stripePromotionCodeId: r.stripe_promotion_code_id,
    code: r.code,
    createdAt: r.created_at.toISOString(),
  };
}
