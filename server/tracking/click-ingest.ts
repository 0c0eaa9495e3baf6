/**
 * Group commit for clicks. Every click request is queued; a flusher writes everything queued so far in ONE
 * statement (new referrals, extended windows, clicks and the daily rollup; visitors who already have a
 * referral are locked first in the same transaction), then answers every request of the batch. A click is acknowledged only after its batch
 * commits, so nothing acknowledged is lost; under load, batches grow and the cost per click falls.
 *
 * Attribution rules (applied in queue order, so two clicks of one visitor in a batch behave as if serial):
 * - the visitor's live referral for the same affiliate is reused; a repeat within `CLICK_DEDUPE_MINUTES`
 *   records no new click; each click restarts the attribution window (`cookie_days`);
 * - `first_click`: a live referral of another affiliate keeps the visitor; the click is counted for the
 *   affiliate who sent it, with no referral;
 * - otherwise (`last_click`, no or expired referral) a new referral starts.
 */
import { CompiledQuery, sql } from 'kysely';
import { namedStatement, type Db, type DbOrTrx } from '../db/database.ts';
import { newTimeOrderedId } from '../lib/ids.ts';
import { silentLogger, type Logger } from '../lib/logger.ts';
import type { Metrics } from '../lib/metrics.ts';

const DAY_MS = 86_400_000;
export const CLICK_DEDUPE_MINUTES = 30;
/** Largest batch written in one statement. */
const MAX_BATCH = 1000;
/**
 * Batches in flight at once per process. One: one flusher serves as many clicks as two at less PostgreSQL CPU per
 * click (its batches are twice as large, and PostgreSQL pays a fixed cost per batch). No process of the click loop is
 * saturated; they share the cores and wait for them in turn, so a second busy backend only adds contention (three: no
 * faster, more CPU). Measurements: docs/performance.md#click-ingest. Each flusher has its own shard of the daily rollup
 * rows, so several never wait on each other's row locks.
 */
export const FLUSHERS = 1;

/**
 * ONE statement for a whole batch: new referrals, window extensions, clicks and the daily rollup
 * (data-modifying CTEs). Rows travel as four JSON arrays ($2–$5; $1 = the batch's timestamp, $6 = the
 * flusher's rollup shard): one `JSON.stringify` each instead of pg escaping every element of eleven arrays,
 * and a fixed text, so the statement is prepared once per connection (`namedStatement`). The rollup row of
 * this flusher's shard avoids lock waits between concurrent flushes.
 */
const BATCH_SQL = namedStatement(
  'click_batch',
  `WITH new_referrals AS (
    INSERT INTO referrals (id, program_id, affiliate_id, link_id, created_at, last_click_at, expires_at)
    SELECT v.id, v.program_id, v.affiliate_id, v.link_id, $1::timestamptz, $1::timestamptz, v.expires_at
    FROM json_to_recordset($2::json) AS v(id text, program_id text, affiliate_id text, link_id text, expires_at timestamptz)
  ), extended AS (
    UPDATE referrals r SET last_click_at = $1::timestamptz, expires_at = v.expires_at
    FROM json_to_recordset($3::json) AS v(id text, expires_at timestamptz)
    WHERE r.id = v.id
  ), new_clicks AS (
    INSERT INTO clicks (program_id, affiliate_id, referral_id, link_id, url, referrer, ip, user_agent, created_at)
    SELECT v.program_id, v.affiliate_id, v.referral_id, v.link_id, v.url, v.referrer, v.ip, v.user_agent, $1::timestamptz
    FROM json_to_recordset($4::json)
      AS v(program_id text, affiliate_id text, referral_id text, link_id text, url text, referrer text, ip inet, user_agent text)
  )
  INSERT INTO affiliate_daily_clicks (affiliate_id, day, shard, program_id, clicks)
  SELECT v.affiliate_id, ($1::timestamptz AT TIME ZONE 'UTC')::date, $6::smallint, v.program_id, v.n
  FROM json_to_recordset($5::json) AS v(affiliate_id text, program_id text, n bigint)
  ON CONFLICT (affiliate_id, day, shard) DO UPDATE SET clicks = affiliate_daily_clicks.clicks + excluded.clicks`,
);

export interface ClickRequest {
  programId: string;
  cookieDays: number;
  attributionModel: 'first_click' | 'last_click';
  affiliateId: string;
  affiliateCode: string;
  /** The visitor's referral id from the cookie, if any (unverified input). */
  existingReferral?: string;
  linkId: string | null;
  url: string | null;
  referrer: string | null;
  ip: string | null;
  userAgent: string | null;
}

export interface Attribution {
  /** The referral the visitor keeps. */
  referral: string;
  /** Code of the affiliate that referral belongs to. */
  affiliateCode: string;
  /** False when the click was a repeat within the dedupe window (no click row). */
  counted: boolean;
  /** When the referral's attribution window ends. */
  expiresAt: Date;
}

interface Pending {
  p: ClickRequest;
  resolve(a: Attribution): void;
  reject(e: unknown): void;
}

interface ReferralState {
  id: string;
  programId: string;
  affiliateId: string;
  affiliateCode: string;
  lastClickAt: Date;
  expiresAt: Date;
  isNew: boolean;
  linkId: string | null;
}

/**
 * @param deps.logger batch-level lines (a failed batch); nothing is logged per click
 * @param deps.metrics batch sizes and click rows written (`partnerkit_click_batch_size`, `partnerkit_clicks_written_total`)
 */
export function createClickIngest(deps: { db: Db; now: () => Date; logger?: Logger; metrics?: Metrics | null }) {
  const { db, now } = deps;
  const logger = deps.logger ?? silentLogger;
  const metrics = deps.metrics ?? null;
  let queue: Pending[] = [];
  let active = 0;
  const freeShards = Array.from({ length: FLUSHERS }, (_, i) => i);
  let idle: Array<() => void> = [];

  async function writeBatch(batch: Pending[], shard: number): Promise<Attribution[]> {
    const wanted = [...new Set(batch.map((b) => b.p.existingReferral).filter((x): x is string => !!x))].sort();
    // New visitors only (the common case): one autocommit statement. Known visitors: lock them first.
    if (!wanted.length) return write(db, batch, wanted, shard);
    return db.transaction().execute((trx) => write(trx, batch, wanted, shard));
  }

  async function write(trx: DbOrTrx, batch: Pending[], wanted: string[], shard: number): Promise<Attribution[]> {
    {
      const at = now();
      const states = new Map<string, ReferralState>();
      if (wanted.length) {
        // Lock in id order so concurrent writers (other processes) cannot deadlock.
        const rows = await sql<{
          id: string;
          program_id: string;
          affiliate_id: string;
          code: string;
          last_click_at: Date;
          expires_at: Date;
          link_id: string | null;
        }>`
          SELECT r.id, r.program_id, r.affiliate_id, a.code, r.last_click_at, r.expires_at, r.link_id
          FROM referrals r JOIN affiliates a ON a.id = r.affiliate_id
          WHERE r.id = ANY(${wanted}::text[]) ORDER BY r.id FOR UPDATE OF r`.execute(trx);
        for (const r of rows.rows) {
          states.set(r.id, {
            id: r.id,
            programId: r.program_id,
            affiliateId: r.affiliate_id,
            affiliateCode: r.code,
            lastClickAt: r.last_click_at,
            expiresAt: r.expires_at,
            isNew: false,
            linkId: r.link_id,
          });
        }
      }
      const touched = new Set<ReferralState>();
      const clicks: Array<{ p: ClickRequest; referralId: string | null }> = [];
      const results: Attribution[] = [];

      for (const { p } of batch) {
        const expiresAt = new Date(at.getTime() + p.cookieDays * DAY_MS);
        const existing = p.existingReferral ? states.get(p.existingReferral) : undefined;
        const live = existing && existing.programId === p.programId && existing.expiresAt > at ? existing : undefined;
        if (live && live.affiliateId === p.affiliateId) {
          const repeat = at.getTime() - live.lastClickAt.getTime() < CLICK_DEDUPE_MINUTES * 60_000;
          live.lastClickAt = at;
          live.expiresAt = expiresAt;
          touched.add(live);
          if (!repeat) clicks.push({ p, referralId: live.id });
          results.push({ referral: live.id, affiliateCode: p.affiliateCode, counted: !repeat, expiresAt });
        } else if (live && p.attributionModel === 'first_click') {
          clicks.push({ p, referralId: null });
          results.push({
            referral: live.id,
            affiliateCode: live.affiliateCode,
            counted: true,
            expiresAt: live.expiresAt,
          });
        } else {
          const state: ReferralState = {
            id: newTimeOrderedId('ref', at.getTime()),
            programId: p.programId,
            affiliateId: p.affiliateId,
            affiliateCode: p.affiliateCode,
            lastClickAt: at,
            expiresAt,
            isNew: true,
            linkId: p.linkId,
          };
          states.set(state.id, state);
          touched.add(state);
          clicks.push({ p, referralId: state.id });
          results.push({ referral: state.id, affiliateCode: p.affiliateCode, counted: true, expiresAt });
        }
      }

      const newReferrals: unknown[] = [];
      const extended: unknown[] = [];
      for (const s of touched) {
        if (s.isNew)
          newReferrals.push({
            id: s.id,
            program_id: s.programId,
            affiliate_id: s.affiliateId,
            link_id: s.linkId,
            expires_at: s.expiresAt.toISOString(),
          });
        else extended.push({ id: s.id, expires_at: s.expiresAt.toISOString() });
      }
      const clickRows: unknown[] = [];
      const perAffiliate = new Map<string, { affiliate_id: string; program_id: string; n: number }>();
      for (const { p, referralId } of clicks) {
        clickRows.push({
          program_id: p.programId,
          affiliate_id: p.affiliateId,
          referral_id: referralId,
          link_id: p.linkId,
          url: p.url,
          referrer: p.referrer,
          ip: p.ip,
          user_agent: p.userAgent,
        });
        const e = perAffiliate.get(p.affiliateId);
        if (e) e.n++;
        else perAffiliate.set(p.affiliateId, { affiliate_id: p.affiliateId, program_id: p.programId, n: 1 });
      }
      // Rollup rows in affiliate order: concurrent writers (other processes) lock them in the same order.
      const rollup = [...perAffiliate.values()].sort((x, y) => (x.affiliate_id < y.affiliate_id ? -1 : 1));
      await trx.executeQuery(
        CompiledQuery.raw(BATCH_SQL, [
          at.toISOString(),
          JSON.stringify(newReferrals),
          JSON.stringify(extended),
          JSON.stringify(clickRows),
          JSON.stringify(rollup),
          shard,
        ]),
      );
      return results;
    }
  }

  async function flush(batch: Pending[], shard: number): Promise<void> {
    try {
      const results = await writeBatch(batch, shard);
      if (metrics) {
        metrics.clickBatchSize.observe(batch.length);
        let written = 0;
        for (const r of results) if (r.counted) written++;
        metrics.clicksWritten.inc(written);
      }
      for (const [i, p] of batch.entries()) p.resolve(results[i]!);
    } catch (err) {
      if (batch.length === 1) {
        batch[0]!.reject(err);
        return;
      }
      // One bad click (e.g. its affiliate deleted meanwhile) must not fail the others: retry one by one.
      logger.warn({ err, batchSize: batch.length }, `click batch of ${batch.length} failed; retrying one by one`);
      for (const p of batch) await flush([p], shard);
    }
  }

  /** One flusher: takes everything queued, writes it, repeats while clicks keep arriving. */
  async function flusher(shard: number): Promise<void> {
    // setImmediate: let the requests already parsed in this turn of the event loop join the batch.
    await new Promise<void>((r) => setImmediate(r));
    while (queue.length) {
      const batch = queue.slice(0, MAX_BATCH);
      queue = queue.slice(batch.length);
      await flush(batch, shard);
    }
    freeShards.push(shard);
    active--;
    if (active === 0) {
      const waiters = idle;
      idle = [];
      for (const wake of waiters) wake();
    }
  }

  function kick(): void {
    // While FLUSHERS batches are in flight, new clicks wait and join the next batch (group commit).
    if (queue.length && active < FLUSHERS) {
      active++;
      void flusher(freeShards.pop()!);
    }
  }

  return {
    /** Queue a click; resolves once its batch has committed. */
    submit(req: ClickRequest): Promise<Attribution> {
      return new Promise<Attribution>((resolve, reject) => {
        queue.push({ p: req, resolve, reject });
        kick();
      });
    },
    /** Wait until every queued click is written (shutdown). */
    async close(): Promise<void> {
      if (active === 0 && queue.length === 0) return;
      await new Promise<void>((r) => idle.push(r));
    },
  };
}
export type ClickIngest = ReturnType<typeof createClickIngest>;
