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
import { sql } from 'kysely';
import { prepared, type Db, type DbOrTrx } from '../db/database.ts';
import { newId } from '../ids.ts';

const DAY_MS = 86_400_000;
export const CLICK_DEDUPE_MINUTES = 30;
/** Largest batch written in one statement. */
const MAX_BATCH = 1000;
/**
 * Batches in flight at once per process. Two overlap one batch's commit with the next batch's work; on the 2-core
 * benchmark machine one and two were alike (≈ 2.8–2.9k clicks/s in single runs, run-to-run noise ±20 %) and four
 * was worse (2.2k/s: smaller batches). Each has its own shard of the daily rollup rows, so they never wait on each
 * other's row locks.
 */
export const FLUSHERS = 2;

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

interface Pending extends ClickRequest {
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

export function createClickIngest(deps: { db: Db; now: () => Date; log: (msg: string, err?: unknown) => void }) {
  const { db, now, log } = deps;
  let queue: Pending[] = [];
  let active = 0;
  const freeShards = Array.from({ length: FLUSHERS }, (_, i) => i);
  let idle: Array<() => void> = [];

  async function writeBatch(batch: Pending[], shard: number): Promise<Attribution[]> {
    const wanted = [...new Set(batch.map((b) => b.existingReferral).filter((x): x is string => !!x))].sort();
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
        const rows = await sql<{ id: string; program_id: string; affiliate_id: string; code: string; last_click_at: Date; expires_at: Date; link_id: string | null }>`
          SELECT r.id, r.program_id, r.affiliate_id, a.code, r.last_click_at, r.expires_at, r.link_id
          FROM referrals r JOIN affiliates a ON a.id = r.affiliate_id
          WHERE r.id = ANY(${wanted}::text[]) ORDER BY r.id FOR UPDATE OF r`.execute(trx);
        for (const r of rows.rows) {
          states.set(r.id, { id: r.id, programId: r.program_id, affiliateId: r.affiliate_id, affiliateCode: r.code, lastClickAt: r.last_click_at, expiresAt: r.expires_at, isNew: false, linkId: r.link_id });
        }
      }
      const touched = new Set<ReferralState>();
      const clicks: Array<{ p: Pending; referralId: string | null }> = [];
      const results: Attribution[] = [];

      for (const p of batch) {
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
          results.push({ referral: live.id, affiliateCode: live.affiliateCode, counted: true, expiresAt: live.expiresAt });
        } else {
          const state: ReferralState = { id: newId('ref'), programId: p.programId, affiliateId: p.affiliateId, affiliateCode: p.affiliateCode, lastClickAt: at, expiresAt, isNew: true, linkId: p.linkId };
          states.set(state.id, state);
          touched.add(state);
          clicks.push({ p, referralId: state.id });
          results.push({ referral: state.id, affiliateCode: p.affiliateCode, counted: true, expiresAt });
        }
      }

      const created = [...touched].filter((s) => s.isNew);
      const updated = [...touched].filter((s) => !s.isNew);
      const perAffiliate = new Map<string, { programId: string; n: number }>();
      for (const c of clicks) {
        const e = perAffiliate.get(c.p.affiliateId) ?? { programId: c.p.programId, n: 0 };
        e.n++;
        perAffiliate.set(c.p.affiliateId, e);
      }
      const rollupIds = [...perAffiliate.keys()].sort();
      // Every row of the batch shares one timestamp: one scalar parameter, ISO (cheaper than per-element dates).
      const atIso = at.toISOString();
      // ONE statement for the whole batch: new referrals, window extensions, clicks and the daily rollup
      // (data-modifying CTEs). unnest() keeps the statement and its parameter count fixed whatever the
      // batch size. The rollup row of this flusher's shard avoids lock waits between concurrent flushes.
      await sql`${prepared('click_batch')}
        WITH new_referrals AS (
          INSERT INTO referrals (id, program_id, affiliate_id, link_id, created_at, last_click_at, expires_at)
          SELECT v.id, v.program_id, v.affiliate_id, v.link_id, ${atIso}::timestamptz, ${atIso}::timestamptz, v.expires_at
          FROM unnest(${created.map((s) => s.id)}::text[], ${created.map((s) => s.programId)}::text[],
            ${created.map((s) => s.affiliateId)}::text[], ${created.map((s) => s.linkId)}::text[],
            ${created.map((s) => s.expiresAt.toISOString())}::timestamptz[]) AS v(id, program_id, affiliate_id, link_id, expires_at)
        ), extended AS (
          UPDATE referrals r SET last_click_at = ${atIso}::timestamptz, expires_at = v.expires_at
          FROM unnest(${updated.map((s) => s.id)}::text[], ${updated.map((s) => s.expiresAt.toISOString())}::timestamptz[])
            AS v(id, expires_at)
          WHERE r.id = v.id
        ), new_clicks AS (
          INSERT INTO clicks (program_id, affiliate_id, referral_id, link_id, url, referrer, ip, user_agent, created_at)
          SELECT *, ${atIso}::timestamptz FROM unnest(${clicks.map((c) => c.p.programId)}::text[], ${clicks.map((c) => c.p.affiliateId)}::text[],
            ${clicks.map((c) => c.referralId)}::text[], ${clicks.map((c) => c.p.linkId)}::text[],
            ${clicks.map((c) => c.p.url)}::text[], ${clicks.map((c) => c.p.referrer)}::text[],
            ${clicks.map((c) => c.p.ip)}::inet[], ${clicks.map((c) => c.p.userAgent)}::text[])
        )
        INSERT INTO affiliate_daily_clicks (affiliate_id, day, shard, program_id, clicks)
        SELECT v.affiliate_id, (${atIso}::timestamptz AT TIME ZONE 'UTC')::date, ${shard}::smallint, v.program_id, v.n
        FROM unnest(${rollupIds}::text[], ${rollupIds.map((id) => perAffiliate.get(id)!.programId)}::text[],
          ${rollupIds.map((id) => perAffiliate.get(id)!.n)}::bigint[]) AS v(affiliate_id, program_id, n)
        ON CONFLICT (affiliate_id, day, shard) DO UPDATE SET clicks = affiliate_daily_clicks.clicks + excluded.clicks`.execute(trx);
      return results;
    }
  }

  async function flush(batch: Pending[], shard: number): Promise<void> {
    try {
      const results = await writeBatch(batch, shard);
      batch.forEach((p, i) => p.resolve(results[i]!));
    } catch (err) {
      if (batch.length === 1) {
        batch[0]!.reject(err);
        return;
      }
      // One bad click (e.g. its affiliate deleted meanwhile) must not fail the others: retry one by one.
      log(`click batch of ${batch.length} failed; retrying one by one`, err);
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
      waiters.forEach((r) => r());
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
        queue.push({ ...req, resolve, reject });
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
