/**
 * Prometheus metrics (prom-client), one registry per app, served by `GET /metrics` (`http/observability.ts`).
 *
 * | metric | type | labels | what |
 * |---|---|---|---|
 * | `partnerkit_http_request_duration_seconds` | histogram | `method`, `route` (the route template, e.g. `/r/:slug`; `unmatched` for no route), `status_class` (`2xx`…) | time from the request to the end of the middleware chain |
 * | `partnerkit_click_batch_size` | histogram | | clicks per group-commit batch written (`tracking/click-ingest.ts`) |
 * | `partnerkit_clicks_written_total` | counter | | click rows committed (repeats within the dedupe window write none) |
 * | `partnerkit_stripe_inbox_backlog` | gauge | `status` (`received`, `retrying`) | stored Stripe events not processed yet, counted in PostgreSQL when scraped (cached `BACKLOG_CACHE_MS`) |
 * | `partnerkit_stripe_event_processing_lag_seconds` | histogram | `status` (`processed`, `ignored`, `failed`) | from the event's `received_at` to the attempt that settled it |
 * | `partnerkit_job_failures_total` | counter | `job` | Agenda job runs that threw, in this process |
 * | `process_*`, `nodejs_*` | | | prom-client's default metrics (CPU, memory, event loop lag, GC) |
 *
 * Recording is a counter increment or a histogram observation (no allocation beyond prom-client's own), so the click
 * path stays as cheap as it was.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** How long a counted inbox backlog is reused: several scrapers, or a fast scrape interval, cost one query. */
export const BACKLOG_CACHE_MS = 5_000;

/** Stored Stripe events waiting for processing, by status. */
export interface InboxBacklog {
  received: number;
  retrying: number;
}

export interface Metrics {
  readonly registry: Registry;
  readonly httpDuration: Histogram<'method' | 'route' | 'status_class'>;
  readonly clickBatchSize: Histogram;
  readonly clicksWritten: Counter;
  readonly stripeProcessingLag: Histogram<'status'>;
  readonly jobFailures: Counter<'job'>;
}

/**
 * A registry with the app's metrics and Node's default metrics.
 * @param opts.inboxBacklog counts the inbox backlog (a query; called at most once per `BACKLOG_CACHE_MS`, and only
 *   when scraped). When it fails, the backlog gauge is left out of that scrape.
 */
export function createMetrics(opts: { inboxBacklog?: () => Promise<InboxBacklog> } = {}): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  let cached: { at: number; backlog: Promise<InboxBacklog> } | null = null;
  const backlog = (): Promise<InboxBacklog> => {
    const at = performance.now();
    if (!cached || at - cached.at > BACKLOG_CACHE_MS) {
      const entry = { at, backlog: opts.inboxBacklog!() };
      cached = entry;
      // A failed count is not kept: the next scrape asks again.
      entry.backlog.catch(() => {
        if (cached === entry) cached = null;
      });
    }
    return cached.backlog;
  };
  if (opts.inboxBacklog) {
    new Gauge({
      name: 'partnerkit_stripe_inbox_backlog',
      help: 'Stored Stripe events not processed yet (received: waiting for their first attempt; retrying: waiting for a retry)',
      labelNames: ['status'],
      registers,
      async collect() {
        try {
          const b = await backlog();
          this.set({ status: 'received' }, b.received);
          this.set({ status: 'retrying' }, b.retrying);
        } catch {
          this.reset();
        }
      },
    });
  }

  return {
    registry,
    httpDuration: new Histogram({
      name: 'partnerkit_http_request_duration_seconds',
      help: 'HTTP request duration by method, route template and status class',
      labelNames: ['method', 'route', 'status_class'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    clickBatchSize: new Histogram({
      name: 'partnerkit_click_batch_size',
      help: 'Clicks per group-commit batch written',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
      registers,
    }),
    clicksWritten: new Counter({
      name: 'partnerkit_clicks_written_total',
      help: 'Click rows committed',
      registers,
    }),
    stripeProcessingLag: new Histogram({
      name: 'partnerkit_stripe_event_processing_lag_seconds',
      help: 'Seconds from a Stripe event being stored to the processing attempt that settled it, by outcome',
      labelNames: ['status'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200, 21600, 86400],
      registers,
    }),
    jobFailures: new Counter({
      name: 'partnerkit_job_failures_total',
      help: 'Agenda job runs that threw, by job name',
      labelNames: ['job'],
      registers,
    }),
  };
}
