/**
 * Stripe webhook ingestion: verify the signature with the program's secrets (several during rotation),
 * store the event in the inbox exactly once, then process it. Store first, then act: a processing failure
 * leaves the event stored with status `failed` and its error, and a redelivery processes it again.
 * Signature scheme and its 5-minute tolerance: https://docs.stripe.com/webhooks#verify-events
 */
import Stripe from 'stripe';
import type { Db } from '../db/database.ts';
import type { ProgramRow } from '../db/schema.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import * as programsRepo from '../programs/programs.repository.ts';
import { stripeEventEnvelope, type StripeEventEnvelope } from './stripe-objects.ts';
import { STRIPE_EVENT_HANDLERS } from './handlers/index.ts';
import * as repo from './stripe-events.repository.ts';

/** Seconds a signed timestamp may differ from our clock (Stripe's default). */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

export type IngestResult = {
  eventId: string;
  /** `duplicate`: already stored and done; the other values are the outcome of this delivery. */
  status: 'processed' | 'ignored' | 'failed' | 'duplicate';
};

export function createStripeWebhooksService(deps: { db: Db; now?: () => Date; log?: (msg: string, err?: unknown) => void }) {
  const { db } = deps;
  const now = deps.now ?? (() => new Date());
  const log = deps.log ?? (() => {});

  /** Try every active secret; Stripe signs with each endpoint secret during a rotation. */
  function verify(raw: Buffer, signature: string, secrets: string[]): unknown {
    const receivedAt = now().getTime(); // milliseconds, as stripe-node expects
    for (const secret of secrets) {
      try {
        return Stripe.webhooks.constructEvent(raw, signature, secret, SIGNATURE_TOLERANCE_SECONDS, undefined, receivedAt);
      } catch {
        // next secret
      }
    }
    throw new ValidationError('The Stripe-Signature header does not match this program’s webhook secrets', 'invalid_signature');
  }

  /** Run the handler and mark the inbox row, in one transaction; a throw marks the row `failed`. */
  async function processStored(program: ProgramRow, event: StripeEventEnvelope): Promise<IngestResult['status']> {
    const handler = STRIPE_EVENT_HANDLERS[event.type];
    try {
      return await db.transaction().execute(async (trx) => {
        const row = await repo.lockEvent(trx, program.id, event.id);
        // Another worker holds it, or it is already done: nothing to do here.
        if (!row) return 'duplicate';
        if (row.status === 'processed' || row.status === 'ignored') return 'duplicate';
        const outcome = handler ? await handler(trx, program, event) : { status: 'ignored' as const, reason: 'unhandled_type' };
        await repo.finishEvent(trx, program.id, event.id, outcome.status, outcome.status === 'ignored' ? outcome.reason : null, now());
        return outcome.status;
      });
    } catch (err) {
      log(`stripe event ${event.id} (${event.type}) failed`, err);
      await repo.finishEvent(db, program.id, event.id, 'failed', String((err as Error)?.message ?? err).slice(0, 1000), now());
      return 'failed';
    }
  }

  return {
    /**
     * Verify, store once, process.
     * @param raw the exact request body bytes (the signature covers them)
     * @throws NotFoundError `unknown_program`; ValidationError `missing_signature`, `webhook_secret_missing`,
     *   `invalid_signature`, `invalid_event` — nothing is stored in those cases
     */
    async ingest(programId: string, raw: Buffer, signature: string | undefined): Promise<IngestResult> {
      const program = await programsRepo.findProgramById(db, programId);
      if (!program) throw new NotFoundError('Program', 'unknown_program');
      if (!signature) throw new ValidationError('Missing Stripe-Signature header', 'missing_signature');
      const secrets = await programsRepo.listWebhookSecrets(db, program.id);
      if (secrets.length === 0) {
        throw new ValidationError('This program has no Stripe webhook secret; add one with the CLI', 'webhook_secret_missing');
      }
      const parsed = stripeEventEnvelope.safeParse(verify(raw, signature, secrets));
      if (!parsed.success) throw new ValidationError('The body is not a Stripe event', 'invalid_event');
      const event = parsed.data;

      const stored = await repo.insertEventOnce(db, {
        program_id: program.id,
        id: event.id,
        type: event.type,
        api_version: event.api_version ?? null,
        livemode: event.livemode,
        payload: raw.toString('utf8'),
      });
      if (!stored) {
        const existing = await repo.findEvent(db, program.id, event.id);
        if (existing && (existing.status === 'processed' || existing.status === 'ignored')) {
          return { eventId: event.id, status: 'duplicate' };
        }
      }
      return { eventId: event.id, status: await processStored(program, event) };
    },
  };
}
export type StripeWebhooksService = ReturnType<typeof createStripeWebhooksService>;
