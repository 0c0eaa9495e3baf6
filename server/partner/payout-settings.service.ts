/**
 * Where a logged-in affiliate is paid: PayPal, a bank account (IBAN checked with ISO 13616 mod 97, or an account
 * + routing number) or a Stripe Connect account. Changing it needs the current password and e-mails a notice, so a
 * stolen session alone cannot redirect payouts unnoticed.
 */
import { z } from 'zod';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { AffiliateRow, PartnerPayoutMethod } from '../db/schema.ts';
import { parseInput, storableText } from '../lib/validate.ts';
import { updatePayoutSettings } from '../affiliates/affiliates.repository.ts';
import type { Mail, Mailer } from '../mail/mailer.ts';
import { requireAffiliate, requireProgram, type AuthenticatedPartner } from './access/access.service.ts';

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

/** Public view of payout details: enough to recognise them, not enough to copy an account number. */
export function payoutSummary(method: PartnerPayoutMethod, d: Record<string, string>): string {
  if (method === 'paypal') return `PayPal ${d.email}`;
  if (method === 'stripe_connect') return `Stripe Connect ${d.accountId}`;
  const account = d.iban || d.accountNumber || '';
  return `Bank transfer •••• ${account.slice(-4)}${d.bankName ? ` (${d.bankName})` : ''}`;
}

/** Sent whenever the payout method changes, so a hijacked account cannot redirect payouts unnoticed. */
export function payoutSettingsChangedMail(m: {
  to: string;
  name: string;
  programName: string;
  summary: string;
  url: string;
}): Mail {
  return {
    to: m.to,
    subject: `Your ${m.programName} payout method was changed`,
    text: [
      `Hi ${m.name},`,
      '',
      `Your payouts from ${m.programName} now go to: ${m.summary}.`,
      '',
      `If you did not make this change, reset your password and check your payout settings: ${m.url}`,
    ].join('\n'),
  };
}

/** @param deps.confirmPassword the lockout-guarded password check of partner access (`confirmAffiliatePassword`) */
export function createPayoutSettingsService(deps: {
  db: Db;
  config: Config;
  mailer: Mailer;
  confirmPassword: (affiliate: Pick<AffiliateRow, 'id' | 'password_hash'>, password: string) => Promise<void>;
  now?: () => Date;
}) {
  const { db, config, mailer } = deps;
  const now = deps.now ?? (() => new Date());
  const service = {
    /** The payout method on file (full details: the owner edits them), or `{ method: null }`. */
    async payoutSettings(partner: AuthenticatedPartner) {
      const a = await requireAffiliate(db, partner);
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
     * @throws ValidationError naming the field; UnauthorizedError `invalid_credentials`; RateLimitedError (locked)
     */
    async updatePayoutSettings(partner: AuthenticatedPartner, input: unknown) {
      const data = parseInput(payoutSettingsInput, input);
      const a = await requireAffiliate(db, partner);
      await deps.confirmPassword(a, data.password);
      const details = Object.fromEntries(
        Object.entries(data.details as Record<string, string | undefined>).filter(
          (e): e is [string, string] => typeof e[1] === 'string' && e[1] !== '',
        ),
      );
      await updatePayoutSettings(db, a.id, data.method, details, now());
      const p = await requireProgram(db, partner);
      await mailer.send(
        payoutSettingsChangedMail({
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
export type PayoutSettingsService = ReturnType<typeof createPayoutSettingsService>;
