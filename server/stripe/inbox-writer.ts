/**
 * Group commit for the Stripe event inbox. Each webhook request queues its row; a flusher writes everything
 * queued so far in ONE `INSERT … ON CONFLICT DO NOTHING RETURNING` (one commit, one WAL flush for the batch) and
 * answers every request of the batch. A request is acknowledged only after its row committed, so nothing
 * acknowledged is lost; under load, batches grow and the cost per event falls (an autocommit insert per request
 * caps the route at connections / commit latency).
 *
 * A batch that fails (a row PostgreSQL refuses) is written again row by row, so one bad event never fails the
 * good ones delivered with it.
 */
import type { Db } from '../db/database.ts';
import type { StripeEventStatus } from '../db/schema.ts';

/** Largest batch written in one statement. */
const MAX_BATCH = 200;
/** Batches in flight at once: a second one overlaps the first one's commit. */
const FLUSHERS = 2;

export interface InboxRow {
  program_id: string;
  id: string;
  type: string;
  api_version: string | null;
  livemode: boolean;
  /** The event as JSON text (stored as jsonb). */
  payload: string;
  event_created_at: Date;
  received_at: Date;
  status: StripeEventStatus;
  error: string | null;
  processed_at: Date | null;
  next_attempt_at: Date | null;
  /** A cleaned payload to store instead when PostgreSQL refuses `payload` (NUL characters, lone surrogates). */
  fallbackPayload: () => string;
}

interface Pending {
  row: InboxRow;
  resolve(stored: boolean): void;
  reject(err: unknown): void;
}

const keyOf = (programId: string, id: string) => `${programId}\u0000${id}`;

export function createInboxWriter(db: Db) {
  let queue: Pending[] = [];
  let active = 0;
  let idleWaiters: (() => void)[] = [];

  async function insert(rows: InboxRow[]): Promise<Set<string>> {
    const inserted = await db
      .insertInto('stripe_events')
      .values(rows.map(({ fallbackPayload: _f, ...r }) => r))
      .onConflict((oc) => oc.columns(['program_id', 'id']).doNothing())
      .returning(['program_id', 'id'])
      .execute();
    return new Set(inserted.map((r) => keyOf(r.program_id, r.id)));
  }

  /** Answer each request: within a batch, the first request of an event id stored it, the others are duplicates. */
  function settle(batch: Pending[], stored: Set<string>) {
    for (const p of batch) {
      const k = keyOf(p.row.program_id, p.row.id);
      p.resolve(stored.delete(k));
    }
  }

  async function writeOne(p: Pending): Promise<void> {
    try {
      settle([p], await insert([p.row]));
    } catch (err) {
      // Valid JSON that jsonb refuses: keep a cleaned copy instead (class 22: data exception).
      if (!String((err as { code?: string }).code ?? '').startsWith('22')) return p.reject(err);
      try {
        settle([p], await insert([{ ...p.row, payload: p.row.fallbackPayload() }]));
      } catch (err2) {
        p.reject(err2);
      }
    }
  }

  async function write(batch: Pending[]): Promise<void> {
    try {
      settle(batch, await insert(batch.map((p) => p.row)));
    } catch {
      if (batch.length === 1) return writeOne(batch[0]!);
      for (const p of batch) await writeOne(p);
    }
  }

  function pump(): void {
    while (active < FLUSHERS && queue.length > 0) {
      const batch = queue.slice(0, MAX_BATCH);
      queue = queue.slice(MAX_BATCH);
      active++;
      write(batch)
        .catch((err) => {
          for (const p of batch) p.reject(err);
        })
        .finally(() => {
          active--;
          pump();
          if (active === 0 && queue.length === 0) {
            const waiters = idleWaiters;
            idleWaiters = [];
            for (const w of waiters) w();
          }
        });
    }
  }

  return {
    /**
     * Store the row once, with the next batch.
     * @returns true when this request stored it, false when the event was already stored (a redelivery)
     * @throws the database's error when the row cannot be stored at all (the request answers 5xx: Stripe retries)
     */
    submit(row: InboxRow): Promise<boolean> {
      return new Promise<boolean>((resolve, reject) => {
        queue.push({ row, resolve, reject });
        pump();
      });
    },

    /** Resolves when everything queued is written. */
    idle(): Promise<void> {
      if (active === 0 && queue.length === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
  };
}
export type InboxWriter = ReturnType<typeof createInboxWriter>;
