/**
 * The program's Stripe events inbox as the merchant reads it (admin API `GET /api/v1/stripe-events`, the CLI's
 * `stripe events` reads the same table): what arrived, what became of it, and why an event was ignored or failed;
 * and a replay of one stored event (`POST /api/v1/stripe-events/:id/replay`, the console's Stripe page) through the
 * webhooks service's own attempt, as `npm run cli -- stripe replay --event` does.
 */
import { z } from 'zod';
import type { Db } from '../db/database.ts';
import type { ProgramRow, StripeEventStatus } from '../db/schema.ts';
import { ConflictError, NotFoundError } from '../lib/errors.ts';
import { idText, parseInput } from '../lib/validate.ts';
import { findEvent, listEvents } from './stripe-events.repository.ts';
import type { Replay } from './webhooks/replay.ts';

export const STRIPE_EVENT_STATUSES = ['received', 'processed', 'ignored', 'retrying', 'failed'] as const;

/**
 * `?status=failed,retrying&type=charge.refunded&before=<ISO time>&limit=50&offset=0` (limit 1–200, default 50;
 * `offset` skips that many of the matching events, newest first, at most 100,000: the console's pages).
 */
export const listStripeEventsInput = z.object({
  status: z
    .string()
    .max(100)
    .transform((s) => s.split(',').filter(Boolean))
    .pipe(z.array(z.enum(STRIPE_EVENT_STATUSES)).max(STRIPE_EVENT_STATUSES.length))
    .optional(),
  type: z
    .string()
    .regex(/^[a-z0-9_.]{1,100}$/, 'must be a Stripe event type such as charge.refunded')
    .optional(),
  before: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).max(100_000).default(0),
});

/** One stored event as the admin API shows it (times ISO 8601; `payload` only on the single-event read). */
export interface StripeEvent {
  id: string;
  type: string;
  status: StripeEventStatus;
  /** Why it was ignored or failed (`sale_not_found (gave up after 8 attempts)`), or the last attempt's error. */
  error: string | null;
  attempts: number;
  receivedAt: string;
  processedAt: string | null;
  /** When the next attempt is due (status `retrying`). */
  nextAttemptAt: string | null;
  payload?: unknown;
}

type EventRow = Awaited<ReturnType<typeof listEvents>>[number];

function toStripeEvent(r: EventRow): StripeEvent {
  return {
    id: r.id,
    type: r.type,
    status: r.status,
    error: r.error,
    attempts: r.attempts,
    receivedAt: r.received_at.toISOString(),
    processedAt: r.processed_at?.toISOString() ?? null,
    nextAttemptAt: r.next_attempt_at?.toISOString() ?? null,
  };
}

export type StripeEventsService = ReturnType<typeof createStripeEventsService>;

/** What `POST /api/v1/stripe-events/:id/replay` answers: the status before, and the event after its replay. */
export interface StripeEventReplay {
  before: StripeEventStatus;
  event: Omit<StripeEvent, 'payload'>;
}

/** @param deps.replay the webhooks service's replay (`webhooks/replay.ts`): the attempt Stripe's deliveries get */
export function createStripeEventsService(deps: { db: Db; replay: Pick<Replay, 'replay'> }) {
  const { db } = deps;
  return {
    /**
     * The program's events, newest first. @throws ValidationError (400) for an unknown status, type or limit
     */
    async list(program: ProgramRow, query: unknown): Promise<StripeEvent[]> {
      const q = parseInput(listStripeEventsInput, query);
      const rows = await listEvents(db, program.id, {
        statuses: q.status,
        type: q.type,
        receivedBefore: q.before ? new Date(q.before) : undefined,
        limit: q.limit,
        offset: q.offset,
      });
      return rows.map(toStripeEvent);
    },

    /** One event with the payload as stored. @throws NotFoundError (404) when the program has no such event */
    async get(program: ProgramRow, id: string): Promise<StripeEvent> {
      const eventId = parseInput(idText, id);
      const row = await findEvent(db, program.id, eventId);
      if (!row) throw new NotFoundError('Stripe event', 'stripe_event_not_found');
      return { ...toStripeEvent(row), payload: row.payload };
    },

    /**
     * Process one stored event again, whatever its status, through the same attempt a delivery gets (handlers are
     * idempotent: a processed event replayed changes nothing — the sale is unique per payment id —, a failed one
     * succeeds once its cause is fixed). Waits for the attempt and what it woke.
     * @returns the status before and the event after (its new status, error, attempts)
     * @throws NotFoundError (404) when the program has no such event; ConflictError `stripe_event_busy` (409) when
     *   another worker is processing it right now (try again in a moment)
     */
    async replay(program: ProgramRow, id: string): Promise<StripeEventReplay> {
      const eventId = parseInput(idText, id);
      const [result] = await deps.replay.replay({ eventId, programId: program.id });
      if (!result) throw new NotFoundError('Stripe event', 'stripe_event_not_found');
      if (result.after === 'skipped')
        throw new ConflictError('The event is being processed right now; try again in a moment', 'stripe_event_busy');
      const row = await findEvent(db, program.id, eventId);
      if (!row) throw new NotFoundError('Stripe event', 'stripe_event_not_found');
      return { before: result.before, event: toStripeEvent(row) };
    },
  };
}
