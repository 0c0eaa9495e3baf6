/**
 * Step 1 of the webhooks pipeline (`webhooks.service.ts`): the route's half. Verify the signature with each of
 * the program's active secrets (from a short-lived cache), store the event once in the inbox through the group
 * commit (`inbox-writer.ts`), hand it to this process's queue and acknowledge, held only by pacing.
 */
import { LRUCache } from 'lru-cache';
import Stripe from 'stripe';
import type { Db } from '../../db/database.ts';
import { NotFoundError, ValidationError } from '../../lib/errors.ts';
import type { ProgramSecrets } from '../../programs/program-secrets.ts';
import * as programsRepo from '../../programs/programs.repository.ts';
import { handlerFor } from '../handlers/index.ts';
import { createInboxWriter } from '../inbox-writer.ts';
import type { InboxRef } from '../stripe-events.repository.ts';
import * as repo from '../stripe-events.repository.ts';
import { stripeEventEnvelope } from '../stripe-objects.ts';
import { type HandedOver, inboxKey } from './attempt.ts';

/** Seconds a signed timestamp may be older than our clock (Stripe's default tolerance). */
export const SIGNATURE_TOLERANCE_SECONDS = 300;
/**
 * How long the route trusts its cached view of a program's webhook secrets. A signature that matches none of
 * the cached secrets is checked again against the database, so a secret added for a rotation works at once.
 */
const SECRETS_TTL_MS = 5_000;
/** Parsed events kept for processing in this process at most (~10–20 KB each); see `HandedOver`. */
const HANDED_OVER_MAX = 2_000;

export type IngestResult = {
  eventId: string;
  /**
   * `received`: stored now (or a failed one delivered again), processing follows; `ignored`: stored, a type we
   * do not act on; `duplicate`: already stored.
   */
  status: 'received' | 'ignored' | 'duplicate';
};

/** JSON escapes jsonb may refuse: NUL, and surrogates (a lone one is refused; pairs are let through here too). */
const MAYBE_NOT_JSONB = /\\u(?:0000|d[89a-f])/i;

/**
 * A JSON string PostgreSQL's jsonb accepts, for hostile but signed bodies: NUL characters removed and lone
 * surrogates replaced by U+FFFD in every string and key; numbers jsonb cannot hold (non-finite) written as null.
 * Iterative (an explicit stack of what is left to write; neither recursion nor `JSON.stringify` over the whole
 * value, which recurses too), so nesting costs heap, never the call stack. The route already refuses bodies that
 * nest deeper than `MAX_JSON_DEPTH` (`lib/validate.ts`); this holds at any depth.
 */
export function jsonbSafe(value: unknown): string {
  const clean = (v: string) =>
    JSON.stringify((v.replaceAll('\u0000', '') as unknown as { toWellFormed(): string }).toWellFormed());
  const out: string[] = [];
  const todo: ({ text: string } | { value: unknown })[] = [{ value }];
  while (todo.length > 0) {
    const item = todo.pop()!;
    if ('text' in item) {
      out.push(item.text);
      continue;
    }
    const v = item.value;
    if (typeof v === 'string') out.push(clean(v));
    else if (typeof v === 'number') out.push(Number.isFinite(v) ? JSON.stringify(v) : 'null');
    else if (typeof v === 'boolean') out.push(String(v));
    else if (Array.isArray(v)) {
      // Pushed in reverse: popped as `[`, v0, `,`, v1, …, `]`.
      todo.push({ text: ']' });
      for (let i = v.length - 1; i >= 0; i--) {
        todo.push({ value: v[i] });
        if (i > 0) todo.push({ text: ',' });
      }
      todo.push({ text: '[' });
    } else if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v as Record<string, unknown>);
      todo.push({ text: '}' });
      for (let i = entries.length - 1; i >= 0; i--) {
        todo.push({ value: entries[i]![1] });
        todo.push({ text: `${i > 0 ? ',' : ''}${clean(entries[i]![0])}:` });
      }
      todo.push({ text: '{' });
    } else out.push('null');
  }
  return out.join('');
}

/**
 * The ingest half of the service.
 * @param deps.handedOver where a stored event goes, as parsed, for the attempt (`attempt.ts`)
 * @param deps.queue this process's processing queue (`processing-queue.ts`)
 */
export function createIngest(deps: {
  db: Db;
  now: () => Date;
  programSecrets: ProgramSecrets;
  handedOver: HandedOver;
  queue: {
    enqueue(ref: InboxRef): void;
    paced(): Promise<void> | undefined;
    holds(ref: InboxRef): boolean;
    isClosed(): boolean;
  };
}) {
  const { db, now, handedOver, queue } = deps;
  const inbox = createInboxWriter(db);
  /** Program id → its active webhook secrets (null: no such program). The promise is cached, so a burst of deliveries reads them once. */
  const secretsCache = new LRUCache<string, { secrets: Promise<string[] | null> }>({
    max: 10_000,
    ttl: SECRETS_TTL_MS,
  });
  // A secret retired here stops verifying at once on this instance (other instances: within SECRETS_TTL_MS).
  deps.programSecrets.onWebhookSecretsChanged((programId) => secretsCache.delete(programId));

  function programSecrets(programId: string, fresh = false): Promise<string[] | null> {
    const hit = fresh ? undefined : secretsCache.get(programId);
    if (hit) return hit.secrets;
    const secrets = (async () => {
      const program = await programsRepo.findProgramById(db, programId);
      return program ? deps.programSecrets.webhookSecrets(programId) : null;
    })();
    secretsCache.set(programId, { secrets });
    secrets.catch(() => secretsCache.delete(programId));
    return secrets;
  }

  /** Try every active secret; Stripe signs with each endpoint secret during a rotation. */
  function verifies(raw: Buffer, signature: string, secrets: string[]): boolean {
    const receivedAt = now().getTime(); // milliseconds, as stripe-node expects
    for (const secret of secrets) {
      try {
        Stripe.webhooks.signature!.verifyHeader(
          raw,
          signature,
          secret,
          SIGNATURE_TOLERANCE_SECONDS,
          undefined,
          receivedAt,
        );
        return true;
      } catch {
        // next secret
      }
    }
    return false;
  }

  return {
    /**
     * Verify, store once, acknowledge; processing follows in this process (see `webhooks.service.ts`).
     * @param raw the exact request body bytes (the signature covers them)
     * @throws NotFoundError `unknown_program`; ValidationError `missing_signature`, `webhook_secret_missing`,
     *   `invalid_signature`, `invalid_event` (signed, but not a Stripe event) — nothing is stored in those cases
     */
    async ingest(programId: string, raw: Buffer, signature: string | undefined): Promise<IngestResult> {
      let secrets = await programSecrets(programId);
      if (!secrets) throw new NotFoundError('Program', 'unknown_program');
      if (!signature) throw new ValidationError('Missing Stripe-Signature header', 'missing_signature');
      if (secrets.length === 0) secrets = (await programSecrets(programId, true)) ?? [];
      if (secrets.length === 0) {
        throw new ValidationError(
          'This program has no Stripe webhook secret; add one with the CLI',
          'webhook_secret_missing',
        );
      }
      if (!verifies(raw, signature, secrets)) {
        // Maybe a secret added since we cached them (a rotation in progress): look once more.
        const fresh = (await programSecrets(programId, true)) ?? [];
        if (!verifies(raw, signature, fresh)) {
          throw new ValidationError(
            'The Stripe-Signature header does not match this program’s webhook secrets',
            'invalid_signature',
          );
        }
      }
      const text = raw.toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new ValidationError('The body is not JSON', 'invalid_event');
      }
      const parsed = stripeEventEnvelope.safeParse(body);
      if (!parsed.success) throw new ValidationError('The body is not a Stripe event', 'invalid_event');
      const event = parsed.data;
      const handled = handlerFor(event.type) !== undefined;
      const at = now();
      const stored = await inbox.submit({
        program_id: programId,
        id: event.id,
        type: event.type,
        api_version: event.api_version ?? null,
        livemode: event.livemode,
        payload: text,
        event_created_at: new Date(event.created * 1000),
        received_at: at,
        // Nothing will ever act on an unhandled type: it is stored with its outcome, no work queued.
        status: handled ? 'received' : 'ignored',
        error: handled ? null : 'unhandled_type',
        processed_at: handled ? null : at,
        next_attempt_at: handled ? at : null,
        fallbackPayload: () => jsonbSafe(body),
      });
      const ref = { programId, eventId: event.id };
      if (stored) {
        if (!handled) return { eventId: event.id, status: 'ignored' };
        // Not when jsonb may have refused the text and a cleaned copy was stored (`jsonbSafe`): processing reads that.
        if (handedOver.size < HANDED_OVER_MAX && !queue.isClosed() && !MAYBE_NOT_JSONB.test(text))
          handedOver.set(inboxKey(ref), event);
        queue.enqueue(ref);
        await queue.paced();
        return { eventId: event.id, status: 'received' };
      }
      // Stripe delivered it again: a failed, retrying or never processed (`received`: left by a crash) event is due
      // now (redelivery is a retry). A `received` one this process already has queued or running is left as it is.
      if (!queue.holds(ref) && (await repo.requeue(db, ref, at, ['failed', 'retrying', 'received']))) {
        queue.enqueue(ref);
        return { eventId: event.id, status: 'received' };
      }
      return { eventId: event.id, status: 'duplicate' };
    },

    /** Resolves when the inbox writer has written every submitted event (before closing the pool). */
    idle: (): Promise<void> => inbox.idle(),
  };
}
export type Ingest = ReturnType<typeof createIngest>;
