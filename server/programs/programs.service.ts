/**
 * Programs (tenants): creation with their keys, and look-ups by key.
 */
import { z } from 'zod';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { ProgramRow } from '../db/schema.ts';
import { newId, newSecret, hashSecret } from '../ids.ts';
import { parseInput } from '../http/input.ts';
import * as repo from './programs.repository.ts';

export const createProgramInput = z.object({
  name: z.string().trim().min(1).max(200),
  website: z.url({ protocol: /^https?$/ }),
  currency: z
    .string()
    .regex(/^[A-Za-z]{3}$/, 'must be a 3-letter ISO 4217 code')
    .transform((c) => c.toLowerCase())
    .default('usd'),
  stripeWebhookSecret: z.string().regex(/^whsec_\S+$/, 'must start with whsec_').optional(),
});
export type CreateProgramInput = z.input<typeof createProgramInput>;

/** What `program create` prints: the API key appears here once and is stored only as a hash. */
export interface CreatedProgram {
  id: string;
  publicKey: string;
  apiKey: string;
  webhookUrl: string;
  snippet: string;
}

/** The public shape of a program's settings. */
export interface ProgramSettings {
  id: string;
  name: string;
  website: string;
  currency: string;
  publicKey: string;
  defaultRateBps: number;
  cookieDays: number;
  holdDays: number;
  attributionModel: 'first_click' | 'last_click';
  minPayoutAmount: number;
  allowedDomains: string[];
}

export function toProgramSettings(p: ProgramRow): ProgramSettings {
  return {
    id: p.id,
    name: p.name,
    website: p.website,
    currency: p.currency,
    publicKey: p.public_key,
    defaultRateBps: p.default_rate_bps,
    cookieDays: p.cookie_days,
    holdDays: p.hold_days,
    attributionModel: p.attribution_model,
    minPayoutAmount: p.min_payout_amount,
    allowedDomains: p.allowed_domains,
  };
}

export function createProgramsService(deps: { db: Db; config: Config }) {
  const { db, config } = deps;
  return {
    /**
     * Create a program with the defaults (10 % = 1000 bp, 30-day cookie window, 30-day hold period,
     * last-click, 50.00 minimum payout in the program currency's minor units), one API key and,
     * when given, a Stripe webhook signing secret.
     * @throws ValidationError on bad input
     */
    async create(input: CreateProgramInput): Promise<CreatedProgram> {
      const data = parseInput(createProgramInput, input);
      const apiKey = newSecret('sk_pk');
      const program = await db.transaction().execute(async (trx) => {
        const program = await repo.insertProgram(trx, {
          id: newId('prg'),
          name: data.name,
          website: new URL(data.website).origin,
          currency: data.currency,
          public_key: newId('pk'),
        });
        await repo.insertApiKey(trx, {
          id: newId('key'),
          program_id: program.id,
          key_hash: hashSecret(apiKey),
          key_prefix: apiKey.slice(0, 12),
        });
        if (data.stripeWebhookSecret) {
          await repo.insertWebhookSecret(trx, { id: newId('whs'), program_id: program.id, secret: data.stripeWebhookSecret });
        }
        return program;
      });
      return {
        id: program.id,
        publicKey: program.public_key,
        apiKey,
        webhookUrl: `${config.publicUrl}/api/v1/webhooks/stripe/${program.id}`,
        snippet: `<script async src="${config.publicUrl}/pk.js" data-key="${program.public_key}"></script>`,
      };
    },

    /** Add a Stripe webhook signing secret (several may be active during rotation). */
    async addWebhookSecret(programId: string, secret: string): Promise<void> {
      parseInput(z.string().regex(/^whsec_\S+$/, 'must start with whsec_'), secret);
      await repo.insertWebhookSecret(db, { id: newId('whs'), program_id: programId, secret });
    },

    /** The program owning this API key, or undefined (revoked or unknown). */
    findByApiKey(apiKey: string) {
      return repo.findProgramByApiKeyHash(db, hashSecret(apiKey));
    },

    findByPublicKey(publicKey: string) {
      return repo.findProgramByPublicKey(db, publicKey);
    },

    findById(id: string) {
      return repo.findProgramById(db, id);
    },

    webhookSecrets(programId: string) {
      return repo.listWebhookSecrets(db, programId);
    },
  };
}
export type ProgramsService = ReturnType<typeof createProgramsService>;
