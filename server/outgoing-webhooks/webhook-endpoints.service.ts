/**
 * Outgoing webhooks to the merchant's systems (issue 21): endpoints per program, the delivery of the outbox that the
 * triggers of migration 0026 write, and the delivery log.
 *
 * - Signing: Standard Webhooks (`webhook-id` = the event id, the receiver's idempotency key; `webhook-timestamp` =
 *   the attempt's wall-clock time in Unix seconds, for the receiver's replay window; `webhook-signature` =
 *   `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`), computed by the `standardwebhooks` package. Secrets are
 *   `whsec_<base64 of 24 random bytes>`, one per endpoint, sealed at rest (purpose `webhook_endpoint_secret`, bound to
 *   the program). Rotation keeps the previous secret for `ROTATION_OVERLAP_MS` (24 h): both signatures are sent
 *   meanwhile (space-separated, as the specification allows). Spec:
 *   https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
 * - Delivery (`deliverDue`, run by the `deliver-webhooks` job): due deliveries are claimed with `FOR UPDATE SKIP
 *   LOCKED` and leased for `LEASE_MS`, so N instances never send one attempt twice at once and a process that dies
 *   mid-send leaves its deliveries due again (at-least-once). A 2xx answer within `TIMEOUT_MS` (10 s) delivers;
 *   anything else is retried after `RETRY_DELAYS_MS` (exponential-ish, ~3 days in all), then the delivery fails.
 *   Redirects are not followed, and only public addresses are reached unless `WEBHOOK_ALLOW_PRIVATE=on`
 *   (`lib/safe-http.ts`).
 * - An endpoint whose attempts have all failed for `DISABLE_AFTER_MS` (3 days) is disabled; a
 *   `webhook_endpoint.disabled` notice goes to the outbox (for the e-mail sender) and a warning to the log.
 */
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { z } from 'zod';
import type { Db } from '../db/database.ts';
import type { ProgramRow, WebhookDeliveryStatus, WebhookEndpointsTable } from '../db/schema.ts';
import type { Selectable } from 'kysely';
import { NotFoundError, UnprocessableError } from '../lib/errors.ts';
import { newId } from '../lib/ids.ts';
import { silentLogger, type Logger } from '../lib/logger.ts';
import { guardedPost, isPublicAddress, OutboundRequestError } from '../lib/safe-http.ts';
import type { SecretBox } from '../lib/secrets.ts';
import { parseInput, storableText } from '../lib/validate.ts';
import { ENDPOINT_DISABLED_NOTICE, EVENT_TYPES, renderPayload } from './events.ts';
import * as repo from './webhook-endpoints.repository.ts';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
/** Waits after the 1st, 2nd, … failed attempt (10 attempts over ~72.6 h, like Svix's schedule stretched to 3 days). */
export const RETRY_DELAYS_MS = [
  5 * SECOND,
  5 * MINUTE,
  30 * MINUTE,
  2 * HOUR,
  5 * HOUR,
  10 * HOUR,
  14 * HOUR,
  20 * HOUR,
  21 * HOUR,
];
export const TIMEOUT_MS = 10 * SECOND;
/** How long a claimed delivery is left to its claimer (more than `TIMEOUT_MS`: never sent twice at once). */
export const LEASE_MS = 30 * SECOND;
export const DISABLE_AFTER_MS = 72 * HOUR;
export const ROTATION_OVERLAP_MS = 24 * HOUR;
/** Delivered (or failed) events are forgotten after this many days (`pruneDelivered`). */
export const RETENTION_DAYS = 30;
const EXCERPT_BYTES = 1024;
const SEND_CONCURRENCY = 8;

const eventTypes = z.array(z.enum(EVENT_TYPES)).min(1).max(EVENT_TYPES.length);
const endpointUrl = z.url({ protocol: /^https?$/ }).max(2000);

export const createEndpointInput = z.strictObject({
  url: endpointUrl,
  description: storableText().max(500).optional(),
  eventTypes,
  enabled: z.boolean().optional(),
});
export const updateEndpointInput = z
  .strictObject({
    url: endpointUrl,
    description: storableText().max(500).nullable(),
    eventTypes,
    enabled: z.boolean(),
  })
  .partial()
  .refine((d) => Object.keys(d).length > 0, 'give at least one of url, description, eventTypes, enabled');
export const listDeliveriesInput = z.strictObject({ limit: z.coerce.number().int().min(1).max(100).default(50) });

/** The public shape of a webhook endpoint (its secret only once, in `CreatedWebhookEndpoint`). */
export interface WebhookEndpoint {
  id: string;
  url: string;
  description: string | null;
  eventTypes: string[];
  enabled: boolean;
  /** `whsec_…` + the secret's last 4 characters. */
  secretHint: string;
  /** Until when the previous secret still signs too (after a rotation), or null. */
  previousSecretExpiresAt: string | null;
  /** Since when every attempt has failed, or null. */
  failingSince: string | null;
  disabledAt: string | null;
  disabledReason: string | null;
  createdAt: string;
  updatedAt: string;
}
export interface CreatedWebhookEndpoint extends WebhookEndpoint {
  /** The signing secret (`whsec_…`): shown here, on creation and rotation. */
  secret: string;
}

/** One attempt of a delivery. */
export interface WebhookDeliveryAttempt {
  at: string;
  /** The answer's HTTP status, or null when there was none (timeout, refused, address not allowed). */
  statusCode: number | null;
  latencyMs: number;
  /** The start of the answer's body (≤ 1 KiB). */
  responseExcerpt: string | null;
  error: string | null;
  manual: boolean;
}
/** One event to one endpoint, with its attempts. */
export interface WebhookDelivery {
  id: string;
  eventId: string;
  eventType: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  nextAttemptAt: string | null;
  lastAttemptAt: string | null;
  deliveredAt: string | null;
  createdAt: string;
  log: WebhookDeliveryAttempt[];
}

type EndpointRow = Selectable<WebhookEndpointsTable>;
const iso = (d: Date | null) => d?.toISOString() ?? null;

/** A fresh signing secret: `whsec_` + base64 of 24 random bytes (the Standard Webhooks form). */
function newSigningSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

export function createOutgoingWebhooksService(deps: {
  db: Db;
  box: SecretBox;
  allowPrivate: boolean;
  now?: () => Date;
  logger?: Logger;
  /** Where requests go (tests); default `guardedPost`. */
  post?: typeof guardedPost;
}) {
  const { db, box, allowPrivate } = deps;
  const now = deps.now ?? (() => new Date());
  const logger = deps.logger ?? silentLogger;
  const post = deps.post ?? guardedPost;
  const open = (programId: string, sealed: string) => box.open('webhook_endpoint_secret', sealed, programId);

  const toEndpoint = (r: EndpointRow): WebhookEndpoint => ({
    id: r.id,
    url: r.url,
    description: r.description,
    eventTypes: r.event_types,
    enabled: r.enabled,
    secretHint: `whsec_…${open(r.program_id, r.secret).slice(-4)}`,
    previousSecretExpiresAt:
      r.previous_secret && r.previous_secret_expires_at && r.previous_secret_expires_at > now()
        ? r.previous_secret_expires_at.toISOString()
        : null,
    failingSince: iso(r.failing_since),
    disabledAt: iso(r.disabled_at),
    disabledReason: r.disabled_reason,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  });

  /** Refuse at once what can be judged without DNS: a literal private address (DNS names are checked when sending). */
  function checkUrl(url: string): void {
    if (allowPrivate) return;
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    if (z.union([z.ipv4(), z.ipv6()]).safeParse(host).success && !isPublicAddress(host))
      throw new UnprocessableError(
        `${host} is not a public address (the operator can allow private ones: WEBHOOK_ALLOW_PRIVATE=on)`,
        'address_not_allowed',
      );
  }

  async function findOrThrow(programId: string, id: string) {
    const row = await repo.findEndpoint(db, programId, id);
    if (!row) throw new NotFoundError('Webhook endpoint');
    return row;
  }

  /** Send one attempt of `d` and record it. @returns whether it was delivered */
  async function attempt(d: repo.ClaimedDelivery, manual: boolean): Promise<boolean> {
    const body = JSON.stringify(
      renderPayload({ type: d.type, data: d.data, created_at: d.event_created_at }, d.website),
    );
    const sentAt = new Date(); // wall clock: receivers check it against theirs (replay window)
    const at = now();
    const signatures = [new Webhook(open(d.program_id, d.secret)).sign(d.event_id, sentAt, body)];
    if (d.previous_secret && d.previous_secret_expires_at && d.previous_secret_expires_at > at)
      signatures.push(new Webhook(open(d.program_id, d.previous_secret)).sign(d.event_id, sentAt, body));
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'partnerkit-webhooks/1',
      'webhook-id': d.event_id,
      'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
      'webhook-signature': signatures.join(' '),
    };
    const began = performance.now();
    let status: number | null = null;
    let excerpt: string | null = null;
    let error: string | null = null;
    try {
      const res = await post(d.url, headers, body, {
        allowPrivate,
        timeoutMs: TIMEOUT_MS,
        excerptBytes: EXCERPT_BYTES,
      });
      status = res.status;
      excerpt = res.excerpt.replaceAll(String.fromCharCode(0), '');
    } catch (err) {
      error = err instanceof OutboundRequestError ? `${err.code}: ${err.message}` : 'network_error';
    }
    const ok = status !== null && status >= 200 && status < 300;
    const latency = Math.round(performance.now() - began);
    const done = now();
    await db.transaction().execute(async (trx) => {
      await repo.insertAttempt(trx, {
        delivery_id: d.id,
        attempted_at: at,
        status_code: status,
        latency_ms: latency,
        response_excerpt: excerpt,
        error,
        manual,
      });
      if (ok) {
        await repo.markDelivered(trx, d.id, done);
        await repo.clearFailing(trx, d.endpoint_id);
        return;
      }
      if (!manual) {
        const delay = RETRY_DELAYS_MS[d.attempts - 1];
        await repo.markFailedAttempt(trx, d.id, delay === undefined ? null : new Date(done.getTime() + delay));
      }
      const since = await repo.noteFailing(trx, d.endpoint_id, at);
      if (since && done.getTime() - since.getTime() >= DISABLE_AFTER_MS) {
        const reason = `every attempt failed since ${since.toISOString()}`;
        const disabled = await repo.disableFailing(
          trx,
          d.endpoint_id,
          new Date(done.getTime() - DISABLE_AFTER_MS),
          done,
          reason,
        );
        if (disabled) {
          await repo.insertNotice(trx, {
            id: `msg_${randomBytes(16).toString('hex')}`,
            program_id: d.program_id,
            type: ENDPOINT_DISABLED_NOTICE,
            object_id: d.endpoint_id,
            data: { endpoint: toEndpoint(disabled), reason },
            created_at: done,
          });
          logger.warn(
            { programId: d.program_id, webhookEndpointId: d.endpoint_id, url: d.url },
            `outgoing webhooks: endpoint ${d.endpoint_id} (${d.url}) disabled: ${reason}`,
          );
        }
      }
    });
    return ok;
  }

  const service = {
    async list(program: Pick<ProgramRow, 'id'>): Promise<WebhookEndpoint[]> {
      return (await repo.listEndpoints(db, program.id)).map(toEndpoint);
    },

    /** @throws NotFoundError */
    async get(program: Pick<ProgramRow, 'id'>, id: string): Promise<WebhookEndpoint> {
      return toEndpoint(await findOrThrow(program.id, id));
    },

    /**
     * A new endpoint `{ url, description?, eventTypes, enabled? }` with a fresh secret (shown in the answer).
     * @throws ValidationError; UnprocessableError `address_not_allowed` (a private IP literal)
     */
    async create(program: Pick<ProgramRow, 'id'>, input: unknown): Promise<CreatedWebhookEndpoint> {
      const v = parseInput(createEndpointInput, input);
      checkUrl(v.url);
      const secret = newSigningSecret();
      const at = now();
      const row = await repo.insertEndpoint(db, {
        id: newId('whe'),
        program_id: program.id,
        url: v.url,
        description: v.description ?? null,
        event_types: [...new Set(v.eventTypes)],
        enabled: v.enabled ?? true,
        secret: box.seal('webhook_endpoint_secret', secret, program.id),
        created_at: at,
        updated_at: at,
      });
      return { ...toEndpoint(row), secret };
    },

    /**
     * Change url, description, event types or enabled; enabling clears the failure state (a disabled endpoint's
     * pending deliveries resume). @throws ValidationError; NotFoundError; UnprocessableError `address_not_allowed`
     */
    async update(program: Pick<ProgramRow, 'id'>, id: string, input: unknown): Promise<WebhookEndpoint> {
      const v = parseInput(updateEndpointInput, input);
      if (v.url) checkUrl(v.url);
      const existing = await findOrThrow(program.id, id);
      const reEnabled = v.enabled === true && !existing.enabled;
      const row = await repo.updateEndpoint(db, program.id, id, {
        ...(v.url !== undefined ? { url: v.url } : {}),
        ...(v.description !== undefined ? { description: v.description } : {}),
        ...(v.eventTypes !== undefined ? { event_types: [...new Set(v.eventTypes)] } : {}),
        ...(v.enabled !== undefined ? { enabled: v.enabled } : {}),
        ...(reEnabled ? { failing_since: null, disabled_at: null, disabled_reason: null } : {}),
        updated_at: now(),
      });
      if (!row) throw new NotFoundError('Webhook endpoint');
      return toEndpoint(row);
    },

    /** Delete an endpoint with its deliveries and their log. @throws NotFoundError */
    async remove(program: Pick<ProgramRow, 'id'>, id: string): Promise<void> {
      if (!(await repo.deleteEndpoint(db, program.id, id))) throw new NotFoundError('Webhook endpoint');
    },

    /**
     * A new signing secret; the current one keeps signing too for 24 h (`ROTATION_OVERLAP_MS`), so receivers can
     * switch without losing an event. @returns the endpoint with the new secret @throws NotFoundError
     */
    async rotateSecret(program: Pick<ProgramRow, 'id'>, id: string): Promise<CreatedWebhookEndpoint> {
      const secret = newSigningSecret();
      const row = await db.transaction().execute(async (trx) => {
        const existing = await repo.findEndpoint(trx, program.id, id, true);
        if (!existing) throw new NotFoundError('Webhook endpoint');
        const at = now();
        return repo.updateEndpoint(trx, program.id, id, {
          secret: box.seal('webhook_endpoint_secret', secret, program.id),
          previous_secret: existing.secret,
          previous_secret_expires_at: new Date(at.getTime() + ROTATION_OVERLAP_MS),
          updated_at: at,
        });
      });
      return { ...toEndpoint(row!), secret };
    },

    /** The endpoint's deliveries, newest first (`limit`, default 50), each with its attempts. @throws NotFoundError */
    async listDeliveries(program: Pick<ProgramRow, 'id'>, id: string, input: unknown = {}): Promise<WebhookDelivery[]> {
      const { limit } = parseInput(listDeliveriesInput, input);
      await findOrThrow(program.id, id);
      return withLog(await repo.listDeliveries(db, id, limit));
    },

    /**
     * Send a delivery again now (whatever its status; same `webhook-id`), recorded as a manual attempt; a success
     * marks it delivered. @returns the delivery after the attempt @throws NotFoundError
     */
    async redeliver(program: Pick<ProgramRow, 'id'>, id: string, deliveryId: string): Promise<WebhookDelivery> {
      await findOrThrow(program.id, id);
      const d = await repo.loadDelivery(db, id, deliveryId);
      if (!d) throw new NotFoundError('Webhook delivery');
      await attempt(d, true);
      return (await withLog(await repo.listDeliveries(db, id, 1, deliveryId)))[0]!;
    },

    /**
     * One pass: claim the due deliveries (at most `limit`), send them (8 at a time), record each attempt.
     * @returns how many attempts were made
     */
    async deliverDue(opts: { limit?: number } = {}): Promise<number> {
      const at = now();
      const claimed = await repo.claimDue(db, at, new Date(at.getTime() + LEASE_MS), opts.limit ?? 100);
      let next = 0;
      const worker = async () => {
        while (next < claimed.length) {
          const d = claimed[next++]!;
          try {
            await attempt(d, false);
          } catch (err) {
            // Left leased: due again after LEASE_MS.
            logger.error({ err, webhookDeliveryId: d.id }, `outgoing webhooks: attempt of ${d.id} failed to run`);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(SEND_CONCURRENCY, claimed.length) }, worker));
      return claimed.length;
    },

    /** Forget events older than `RETENTION_DAYS` that nothing waits for (1,000 a call). @returns how many */
    pruneDelivered(): Promise<number> {
      return repo.pruneEvents(db, new Date(now().getTime() - RETENTION_DAYS * 86_400_000), 1000);
    },
  };

  async function withLog(rows: Awaited<ReturnType<typeof repo.listDeliveries>>): Promise<WebhookDelivery[]> {
    const attempts = await repo.listAttempts(
      db,
      rows.map((r) => r.id),
    );
    return rows.map((r) => ({
      id: r.id,
      eventId: r.event_id,
      eventType: r.type,
      status: r.status,
      attempts: r.attempts,
      nextAttemptAt: r.status === 'pending' ? iso(r.next_attempt_at) : null,
      lastAttemptAt: iso(r.last_attempt_at),
      deliveredAt: iso(r.delivered_at),
      createdAt: r.created_at.toISOString(),
      log: attempts
        .filter((a) => a.delivery_id === r.id)
        .map((a) => ({
          at: a.attempted_at.toISOString(),
          statusCode: a.status_code,
          latencyMs: a.latency_ms,
          responseExcerpt: a.response_excerpt,
          error: a.error,
          manual: a.manual,
        })),
    }));
  }
  return service;
}
export type OutgoingWebhooksService = ReturnType<typeof createOutgoingWebhooksService>;
