/**
 * "Get paid with Stripe": a partner gets a Stripe Express account created through the program's Stripe key, and is
 * sent to Stripe's hosted onboarding (an Account Link) instead of typing an `acct_…` id they would not know.
 *
 * - One account per affiliate: the creation carries an idempotency key per affiliate, runs behind the affiliate row
 *   lock, and the account is stored (`affiliate_stripe_accounts`); asking again gives a fresh Account Link for the
 *   same account (a link is single-use and expires within minutes).
 * - The account becomes the affiliate's payout method (`stripe_connect`) through `updatePayoutSettings`, which
 *   needs the current password and e-mails the notice: a stolen session alone cannot redirect payouts.
 * - `account.updated` (`stripe/handlers/account-updated.ts`) keeps transfers / payouts / requirements current;
 *   pay-all asks Stripe again before every transfer.
 * Sources: https://docs.stripe.com/connect/express-accounts, https://docs.stripe.com/api/accounts/create,
 * https://docs.stripe.com/api/account_links/create
 */
import { z } from 'zod';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import { AppError, UnauthorizedError, UnprocessableError } from '../lib/errors.ts';
import { parseInput } from '../lib/validate.ts';
import { lockAffiliate } from '../affiliates/affiliates.repository.ts';
import type { AuthenticatedPartner } from '../partner/access/access.service.ts';
import { verifyPassword } from '../partner/access/passwords.ts';
import type { PayoutSettingsService } from '../partner/payout-settings.service.ts';
import { findProgramById } from '../programs/programs.repository.ts';
import type { ProgramSecrets } from '../programs/program-secrets.ts';
import type { StripeEndpoint } from '../stripe/stripe-api.ts';
import { connectStatus, type ConnectStatus } from './connect-accounts.ts';
import { stripeClient } from './stripe-transfers.ts';

export const onboardInput = z
  .object({
    /** Where the partner lives (ISO 3166-1 alpha-2): Stripe cannot change it later. */
    country: z
      .string()
      .trim()
      .toUpperCase()
      .regex(/^[A-Z]{2}$/, 'must be a 2-letter country code'),
    password: z.string().min(1).max(1000),
  })
  .strict();

export interface Onboarding {
  accountId: string;
  status: ConnectStatus;
  /** Stripe's hosted onboarding page (single use, expires at `expiresAt`). */
  url: string;
  expiresAt: string;
}

/** `GET /api/v1/partner/stripe-connect`. */
export interface ConnectAccountStatus {
  status: ConnectStatus | 'none';
  /** Whether the program pays through Stripe at all (has a Stripe key): the dashboard offers onboarding only then. */
  available: boolean;
  accountId: string | null;
  country: string | null;
  /** What Stripe still needs (`requirements.currently_due`), e.g. `external_account`. */
  requirementsDue: string[];
}

const stripeFailure = (err: unknown) =>
  new AppError(502, 'stripe_unavailable', `Stripe refused or did not answer: ${(err as Error).message}`.slice(0, 300));

export function createConnectOnboardingService(deps: {
  db: Db;
  config: Config;
  programSecrets: ProgramSecrets;
  stripeEndpoint?: StripeEndpoint;
  payoutSettings: Pick<PayoutSettingsService, 'updatePayoutSettings'>;
}) {
  const { db, config } = deps;
  return {
    /**
     * The partner's Stripe account as the dashboard shows it, from what `account.updated` last said: `none` (not
     * onboarded through the dashboard), `ready`, `needs_information` (a new Account Link through `onboard` lets the
     * partner give what `requirementsDue` names) or `restricted`.
     */
    async status(partner: AuthenticatedPartner): Promise<ConnectAccountStatus> {
      const [row, program] = await Promise.all([
        db
          .selectFrom('affiliate_stripe_accounts')
          .selectAll()
          .where('program_id', '=', partner.programId)
          .where('affiliate_id', '=', partner.affiliateId)
          .executeTakeFirst(),
        findProgramById(db, partner.programId),
      ]);
      const available = Boolean(program?.stripe_api_key);
      if (!row) return { status: 'none', available, accountId: null, country: null, requirementsDue: [] };
      return {
        status: connectStatus(row),
        available,
        accountId: row.account_id,
        country: row.country,
        requirementsDue: row.requirements_due,
      };
    },

    /**
     * Create (once) the partner's Express account and answer a fresh Account Link to Stripe's onboarding; the
     * account becomes the partner's payout method. Return and refresh URLs lead back to the dashboard's payouts page.
     * @param input `{ country, password }`
     * @throws ValidationError; UnauthorizedError `invalid_credentials` (wrong password) / `not_logged_in`;
     *   UnprocessableError `stripe_not_configured`; AppError 502 `stripe_unavailable`
     */
    async onboard(partner: AuthenticatedPartner, input: unknown): Promise<Onboarding> {
      const data = parseInput(onboardInput, input);
      const program = await findProgramById(db, partner.programId);
      if (!program) throw new UnauthorizedError('Log in first', 'not_logged_in');
      const key = deps.programSecrets.apiKey(program);
      if (!key) throw new UnprocessableError('This program does not pay through Stripe yet', 'stripe_not_configured');
      const stripe = stripeClient(key, deps.stripeEndpoint);

      const account = await db.transaction().execute(async (trx) => {
        // Onboardings of one affiliate run one at a time: one account each.
        const a = await lockAffiliate(trx, program.id, partner.affiliateId);
        if (!a) throw new UnauthorizedError('Log in first', 'not_logged_in');
        if (!a.password_hash || !(await verifyPassword(a.password_hash, data.password)))
          throw new UnauthorizedError('The password is wrong', 'invalid_credentials');
        const known = await trx
          .selectFrom('affiliate_stripe_accounts')
          .selectAll()
          .where('program_id', '=', program.id)
          .where('affiliate_id', '=', a.id)
          .executeTakeFirst();
        if (known) return known;
        const created = await stripe.accounts
          .create(
            {
              type: 'express',
              country: data.country,
              email: a.email,
              capabilities: { transfers: { requested: true } },
              metadata: { partnerkit_program_id: program.id, partnerkit_affiliate_id: a.id },
            },
            { idempotencyKey: `partnerkit-onboard-${a.id}` },
          )
          .catch((err: unknown) => {
            throw stripeFailure(err);
          });
        return trx
          .insertInto('affiliate_stripe_accounts')
          .values({ program_id: program.id, affiliate_id: a.id, account_id: created.id, country: data.country })
          .returningAll()
          .executeTakeFirstOrThrow();
      });

      const current = await db
        .selectFrom('affiliates')
        .select(['payout_method', 'payout_details'])
        .where('id', '=', partner.affiliateId)
        .executeTakeFirstOrThrow();
      if (current.payout_method !== 'stripe_connect' || current.payout_details?.accountId !== account.account_id) {
        await deps.payoutSettings.updatePayoutSettings(partner, {
          method: 'stripe_connect',
          details: { accountId: account.account_id },
          password: data.password,
        });
      }

      const back = `${config.publicUrl}/partner/payouts`;
      const link = await stripe.accountLinks
        .create({
          account: account.account_id,
          type: 'account_onboarding',
          refresh_url: `${back}?stripe=refresh`,
          return_url: `${back}?stripe=return`,
        })
        .catch((err: unknown) => {
          throw stripeFailure(err);
        });
      return {
        accountId: account.account_id,
        status: connectStatus(account),
        url: link.url,
        expiresAt: new Date(link.expires_at * 1000).toISOString(),
      };
    },
  };
}
export type ConnectOnboardingService = ReturnType<typeof createConnectOnboardingService>;
