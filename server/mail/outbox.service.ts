/**
 * The e-mail outbox: what migration 0029's triggers queue (one row per step, in the step's own transaction) is
 * rendered and sent here by the `send-emails` Agenda job — never inside a request. Safe with several instances:
 * rows are claimed with `FOR UPDATE SKIP LOCKED` and leased; a failure at the SMTP server is retried with
 * exponential backoff (`RETRY_DELAYS_MINUTES`) and the row is `failed` after `MAX_ATTEMPTS`. Each mail names its
 * program, has a plain-text and an HTML part (`templates.ts`) and a one-click unsubscribe link (RFC 8058) that
 * turns off that kind for that person (`email_unsubscribes`); finished rows are deleted after `RETENTION_DAYS`.
 * Without `SMTP_URL` the mailer logs each mail instead (`mailer.ts`).
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import { NotFoundError, ValidationError } from '../lib/errors.ts';
import { silentLogger, type Logger } from '../lib/logger.ts';
import type { SecretBox } from '../lib/secrets.ts';
import { parseInput } from '../lib/validate.ts';
import type { Mailer } from './mailer.ts';
import {
  AFFILIATE_MAIL_KINDS,
  isMailKind,
  MAIL_KIND_LABELS,
  type AffiliateMailKind,
  type MailKind,
} from './mail-kinds.ts';
import * as repo from './outbox.repository.ts';
import type { OutboxRow } from './outbox.repository.ts';
import { formatMoney, renderMail, type MailContent } from './templates.ts';

/** Delay before attempt n+1 after n failed ones (minutes); the last value repeats. */
export const RETRY_DELAYS_MINUTES = [1, 5, 30, 120, 360];
/** Attempts before a row is `failed` (about a day of retries). */
export const MAX_ATTEMPTS = 8;
/** Sent, skipped and failed rows are deleted after this many days. */
export const RETENTION_DAYS = 30;
/** How long a claimed row is leased to its sender (a crashed sender's rows come back after it). */
const LEASE_MS = 5 * 60_000;
/**
 * An approval mail waits up to this long for the set-password link the approving request attaches
 * (`attachSetPasswordLink`); after that (approved by a path that issues none) the sender issues one itself.
 */
const LINK_WAIT_MS = 30_000;
const BATCH = 25;

/** `PUT /api/v1/partner/email-preferences`: kinds to turn on (`true`) or off (`false`); others stay. */
export const emailPreferencesInput = z.object({
  preferences: z.partialRecord(z.enum(AFFILIATE_MAIL_KINDS), z.boolean()),
});

/** The one-click unsubscribe token: `<base64url JSON [programId, email, kind]>.<HMAC-SHA256, 32 chars>`. */
function tokenKey(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'partnerkit', 'partnerkit/unsubscribe/v1', 32));
}
const sign = (key: Buffer, body: string) => createHmac('sha256', key).update(body).digest('base64url').slice(0, 32);

export interface EmailPreference {
  kind: AffiliateMailKind;
  label: string;
  subscribed: boolean;
}

export function createMailOutbox(deps: {
  db: Db;
  config: Pick<Config, 'publicUrl' | 'secretKey' | 'secretKeyPrevious'>;
  mailer: Mailer;
  box: SecretBox;
  /** Issue a fresh set-password link (`access.service.ts`) for an approval mail that got none. */
  issueSetPasswordLink?: (affiliateId: string) => Promise<string>;
  now?: () => Date;
  logger?: Logger;
}) {
  const { db, config, mailer, box } = deps;
  const now = deps.now ?? (() => new Date());
  const logger = deps.logger ?? silentLogger;
  const keys = [config.secretKey, config.secretKeyPrevious].filter((k): k is string => !!k).map(tokenKey);

  function unsubscribeToken(programId: string, email: string, kind: MailKind): string {
    const body = Buffer.from(JSON.stringify([programId, email.toLowerCase(), kind])).toString('base64url');
    return `${body}.${sign(keys[0]!, body)}`;
  }

  /** @throws ValidationError `invalid_unsubscribe_token` (malformed, altered, signed by another key) */
  function readToken(token: unknown): { programId: string; email: string; kind: MailKind } {
    const bad = () => new ValidationError('This unsubscribe link is not valid', 'invalid_unsubscribe_token');
    if (typeof token !== 'string' || token.length > 2000) throw bad();
    const [body, sig] = token.split('.');
    if (!body || !sig) throw bad();
    const ok = keys.some((k) => {
      const want = Buffer.from(sign(k, body));
      const got = Buffer.from(sig);
      return want.length === got.length && timingSafeEqual(want, got);
    });
    if (!ok) throw bad();
    try {
      const [programId, email, kind] = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as string[];
      if (typeof programId !== 'string' || typeof email !== 'string' || !isMailKind(kind ?? '')) throw bad();
      return { programId, email, kind: kind as MailKind };
    } catch {
      throw bad();
    }
  }

  async function affiliateOf(affiliateId: string) {
    const a = await db
      .selectFrom('affiliates')
      .select(['program_id', 'email'])
      .where('id', '=', affiliateId)
      .executeTakeFirst();
    if (!a) throw new NotFoundError('Affiliate');
    return a;
  }

  const unsubscribeUrl = (programId: string, email: string, kind: MailKind) =>
    `${config.publicUrl}/api/v1/unsubscribe?token=${unsubscribeToken(programId, email, kind)}`;

  /** Who gets `row` and what it says; null when nobody should (no notification address, the subject is gone). */
  async function compose(row: OutboxRow): Promise<{ to: string; content: MailContent } | null> {
    const program = await db.selectFrom('programs').selectAll().where('id', '=', row.program_id).executeTakeFirst();
    if (!program) return null;
    const affiliate = row.affiliate_id
      ? await db.selectFrom('affiliates').selectAll().where('id', '=', row.affiliate_id).executeTakeFirst()
      : undefined;
    const dashboard = `${config.publicUrl}/partner/`;
    const hi = (name: string) => `Hi ${name},`;
    const commission = async () =>
      row.subject_id
        ? db.selectFrom('commissions').selectAll().where('id', '=', row.subject_id).executeTakeFirst()
        : undefined;
    // The merchant team: the program's notification address, else its first console owner.
    const team =
      program.notification_email ??
      (row.audience === 'merchant'
        ? ((
            await db
              .selectFrom('console_memberships as m')
              .innerJoin('console_users as u', 'u.id', 'm.user_id')
              .select('u.email')
              .where('m.program_id', '=', row.program_id)
              .where('m.role', '=', 'owner')
              .orderBy('m.created_at')
              .limit(1)
              .executeTakeFirst()
          )?.email ?? null)
        : null);
    const kind = row.kind as MailKind;
    switch (kind) {
      case 'application_received':
        if (!affiliate) return null;
        return {
          to: affiliate.email,
          content: {
            subject: `We received your application to the ${program.name} partner program`,
            greeting: hi(affiliate.name),
            blocks: [
              {
                p: `Thank you for applying. The ${program.name} team reviews each application and will e-mail you their answer.`,
              },
            ],
          },
        };
      case 'affiliate_approved': {
        if (!affiliate) return null;
        let link: string | null = null;
        if (row.secret) link = box.open('set_password_link', row.secret, row.program_id);
        else if (!affiliate.password_hash && deps.issueSetPasswordLink)
          link = await deps.issueSetPasswordLink(affiliate.id);
        return {
          to: affiliate.email,
          content: {
            subject: `You are now a partner of ${program.name}`,
            greeting: hi(affiliate.name),
            blocks: [
              {
                p: `Your application to the ${program.name} partner program was approved. Your referral code is ${affiliate.code}.`,
              },
              link
                ? {
                    p: 'Set your password to open your partner dashboard, where you find your referral link and see every click, sale, commission and payout. The link works once.',
                  }
                : { p: 'Log in to your partner dashboard to find your referral link.' },
              link ? { link, label: 'Set your password' } : { link: dashboard, label: 'Open your dashboard' },
            ],
          },
        };
      }
      case 'affiliate_rejected':
        if (!affiliate) return null;
        return {
          to: affiliate.email,
          content: {
            subject: `Your application to the ${program.name} partner program`,
            greeting: hi(affiliate.name),
            blocks: [
              { p: `Thank you for your interest. The ${program.name} team has declined your application.` },
              // Typed by the merchant: escaped in the HTML part like every fact (templates.ts).
              ...(affiliate.rejection_reason
                ? [{ facts: [['Reason', affiliate.rejection_reason]] as [string, string][] }]
                : []),
            ],
          },
        };
      case 'first_commission':
      case 'commission_approved':
      case 'clawback': {
        const c = await commission();
        if (!affiliate || !c) return null;
        // A clawback row is negative; a commission reversed in place keeps what was taken in `reversed_amount`.
        const taken =
          c.kind === 'clawback' ? -c.amount : c.status === 'reversed' ? c.reversed_amount || c.amount : c.amount;
        const amount = formatMoney(kind === 'clawback' ? taken : c.amount, c.currency);
        const content: Record<typeof kind, MailContent> = {
          first_commission: {
            subject: `Your first commission from ${program.name}: ${amount}`,
            greeting: hi(affiliate.name),
            blocks: [
              {
                p: `A sale you referred earned you your first commission of ${amount}. It is approved after the hold period (${program.hold_days} days).`,
              },
              { link: dashboard, label: 'See it in your dashboard' },
            ],
          },
          commission_approved: {
            subject: `Commission approved: ${amount}`,
            greeting: hi(affiliate.name),
            blocks: [
              { p: `Your commission of ${amount} from ${program.name} is approved and will be in your next payout.` },
              { link: dashboard, label: 'See it in your dashboard' },
            ],
          },
          clawback: {
            subject: `A commission of ${amount} was taken back`,
            greeting: hi(affiliate.name),
            blocks: [
              {
                p: `A commission of ${amount} from ${program.name} was taken back, because its sale was refunded or disputed.`,
              },
              ...(c.reason ? [{ facts: [['Reason', c.reason]] as [string, string][] }] : []),
              { link: dashboard, label: 'See it in your dashboard' },
            ],
          },
        };
        return { to: affiliate.email, content: content[kind] };
      }
      case 'payout_sent': {
        const p = row.subject_id
          ? await db.selectFrom('payouts').selectAll().where('id', '=', row.subject_id).executeTakeFirst()
          : undefined;
        if (!affiliate || !p) return null;
        const amount = formatMoney(p.amount, p.currency);
        return {
          to: affiliate.email,
          content: {
            subject: `${program.name} sent you ${amount}`,
            greeting: hi(affiliate.name),
            blocks: [
              { p: `Your payout of ${amount} is on its way.` },
              {
                facts: [
                  ['Method', p.method.replace('_', ' ')],
                  ...(p.reference ? [['Reference', p.reference] as [string, string]] : []),
                ],
              },
              { link: dashboard, label: 'See your payouts' },
            ],
          },
        };
      }
      case 'new_application':
        if (!team || !affiliate) return null;
        return {
          to: team,
          content: {
            subject: `New partner application: ${affiliate.name}`,
            greeting: 'Hello,',
            blocks: [
              { p: `${affiliate.name} applied to the ${program.name} partner program.` },
              {
                facts: [
                  ['E-mail', affiliate.email],
                  ['Website', affiliate.website ?? '—'],
                  ['Promotion', affiliate.promotion_method ?? '—'],
                  ['Affiliate id', affiliate.id],
                ],
              },
              { p: `Approve or reject it with POST /api/v1/affiliates/${affiliate.id}/approve (or /reject).` },
            ],
          },
        };
      case 'commission_on_hold': {
        const c = await commission();
        if (!team || !c) return null;
        return {
          to: team,
          content: {
            subject: `Commission on hold for review: ${formatMoney(c.amount, c.currency)}`,
            greeting: 'Hello,',
            blocks: [
              { p: `A commission of ${affiliate?.name ?? c.affiliate_id} is on hold and waits for your review.` },
              {
                facts: [
                  ['Commission', c.id],
                  ['Amount', formatMoney(c.amount, c.currency)],
                  ['Reason', c.hold_reason ?? '—'],
                ],
              },
              { p: `Approve or reject it with POST /api/v1/commissions/${c.id}/approve (or /reject).` },
            ],
          },
        };
      }
      case 'payout_run_ready': {
        if (!team || !row.subject_id) return null;
        const totals = await db
          .selectFrom('payouts')
          .select([
            'currency',
            (eb) => eb.fn.countAll<string>().as('n'),
            (eb) => eb.fn.sum<string>('amount').as('total'),
          ])
          .where('program_id', '=', row.program_id)
          .where('batch_id', '=', row.subject_id)
          .groupBy('currency')
          .execute();
        const count = totals.reduce((s, t) => s + Number(t.n), 0);
        return {
          to: team,
          content: {
            subject: `Payout run ready: ${count} payout(s)`,
            greeting: 'Hello,',
            blocks: [
              { p: `The scheduled payout run of ${program.name} created ${count} payout(s), waiting to be paid.` },
              {
                facts: [
                  ['Batch', row.subject_id],
                  ...totals.map(
                    (t) =>
                      [`Total ${t.currency.toUpperCase()}`, formatMoney(Number(t.total), t.currency)] as [
                        string,
                        string,
                      ],
                  ),
                ],
              },
              { p: 'Pay them with POST /api/v1/payouts/pay-all or mark each one completed.' },
            ],
          },
        };
      }
      case 'webhook_endpoint_disabled': {
        const ep = row.subject_id
          ? await db
              .selectFrom('webhook_endpoints')
              .select(['id', 'url', 'disabled_reason'])
              .where('program_id', '=', row.program_id)
              .where('id', '=', row.subject_id)
              .executeTakeFirst()
          : undefined;
        if (!team || !ep) return null;
        return {
          to: team,
          content: {
            subject: `Webhook endpoint disabled: ${ep.url}`,
            greeting: 'Hello,',
            blocks: [
              {
                p: `${program.name} stopped sending events to one of its webhook endpoints: every delivery failed for 3 days.`,
              },
              {
                facts: [
                  ['Endpoint', ep.id],
                  ['URL', ep.url],
                  ['Reason', ep.disabled_reason ?? '—'],
                ],
              },
              {
                p: `Fix the receiver, then enable it again (its waiting events are sent): npm run cli -- webhooks update --program ${program.id} --id ${ep.id} --enable`,
              },
            ],
          },
        };
      }
      case 'stripe_event_failed': {
        const e = row.subject_id
          ? await db
              .selectFrom('stripe_events')
              .select(['id', 'type', 'error', 'attempts'])
              .where('program_id', '=', row.program_id)
              .where('id', '=', row.subject_id)
              .executeTakeFirst()
          : undefined;
        if (!team || !e) return null;
        return {
          to: team,
          content: {
            subject: `Stripe event failed: ${e.type}`,
            greeting: 'Hello,',
            blocks: [
              {
                p: `A Stripe event of ${program.name} failed after ${e.attempts} attempt(s); its sale or refund is not recorded.`,
              },
              {
                facts: [
                  ['Event', e.id],
                  ['Type', e.type],
                  ['Error', e.error ?? '—'],
                ],
              },
              {
                p: `Fix the cause, then replay it: npm run cli -- stripe replay --program ${program.id} --event ${e.id}`,
              },
            ],
          },
        };
      }
    }
  }

  /** Render and send one claimed row, and record the outcome. */
  async function deliverOne(row: OutboxRow, at: Date): Promise<'sent' | 'logged' | 'skipped' | 'retry' | 'failed'> {
    if (!isMailKind(row.kind)) {
      await repo.finish(db, row.id, 'skipped', { at, error: `unknown kind ${row.kind}` });
      return 'skipped';
    }
    if (row.kind === 'affiliate_approved' && !row.secret && Date.now() - row.created_at.getTime() < LINK_WAIT_MS) {
      const a = row.affiliate_id
        ? await db
            .selectFrom('affiliates')
            .select('password_hash')
            .where('id', '=', row.affiliate_id)
            .executeTakeFirst()
        : undefined;
      if (a && !a.password_hash) {
        await repo.retryLater(db, row.id, { at, delayMs: 5_000, error: null, countAttempt: false });
        return 'retry';
      }
    }
    let mail: ReturnType<typeof renderMail> | null = null;
    try {
      const composed = await compose(row);
      if (!composed) {
        await repo.finish(db, row.id, 'skipped', { at, error: 'no recipient' });
        return 'skipped';
      }
      if (await repo.isUnsubscribed(db, row.program_id, composed.to, row.kind)) {
        await repo.finish(db, row.id, 'skipped', { at, recipient: composed.to, error: 'unsubscribed' });
        return 'skipped';
      }
      const program = (await db
        .selectFrom('programs')
        .select(['name', 'website', 'logo_url', 'accent_color'])
        .where('id', '=', row.program_id)
        .executeTakeFirst())!;
      mail = renderMail(composed.to, program, composed.content, unsubscribeUrl(row.program_id, composed.to, row.kind));
      const outcome = await mailer.deliver(mail);
      await repo.finish(db, row.id, 'sent', { at, recipient: composed.to });
      return outcome;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (row.attempts >= MAX_ATTEMPTS) {
        logger.error({ err, outboxId: row.id }, `e-mail ${row.kind} #${row.id} failed ${row.attempts} times; given up`);
        await repo.finish(db, row.id, 'failed', { at, recipient: mail?.to, error: message.slice(0, 500) });
        return 'failed';
      }
      const minutes = RETRY_DELAYS_MINUTES[Math.min(row.attempts - 1, RETRY_DELAYS_MINUTES.length - 1)]!;
      logger.warn(
        { err, outboxId: row.id },
        `e-mail ${row.kind} #${row.id} not sent (${message}); retry in ${minutes} min`,
      );
      await repo.retryLater(db, row.id, {
        at,
        delayMs: minutes * 60_000,
        error: message.slice(0, 500),
        countAttempt: true,
      });
      return 'retry';
    }
  }

  return {
    /**
     * The `send-emails` job's run: claim due rows (SKIP LOCKED, leased) in batches of 25 and send them, until none
     * is due or `maxBatches` were done; then delete finished rows older than `RETENTION_DAYS`.
     * @returns counts by outcome (`logged`: no SMTP_URL, written to the log), and how many rows were pruned
     */
    async sendDue(opts: { at?: Date; maxBatches?: number } = {}) {
      const at = opts.at ?? now();
      const counts = { sent: 0, logged: 0, skipped: 0, retry: 0, failed: 0, pruned: 0 };
      for (let i = 0; i < (opts.maxBatches ?? 20); i++) {
        const rows = await repo.claimDue(db, at, BATCH, LEASE_MS);
        for (const row of rows) counts[await deliverOne(row, at)]++;
        if (rows.length < BATCH) break;
      }
      counts.pruned = await repo.pruneDone(db, new Date(at.getTime() - RETENTION_DAYS * 86_400_000), 1000);
      return counts;
    },

    /**
     * Put the set-password link the approving request issued on the affiliate's unsent approval mail (sealed with
     * `SECRET_KEY`; the mail is the one that carries it). @returns false when there is no such mail (an invite)
     */
    async attachSetPasswordLink(affiliate: { id: string; program_id: string }, link: string): Promise<boolean> {
      return repo.attachSecret(db, affiliate.id, box.seal('set_password_link', link, affiliate.program_id));
    },

    /** The link's page: what it turns off. @throws ValidationError `invalid_unsubscribe_token` */
    describeToken(token: unknown) {
      const t = readToken(token);
      return { email: t.email, kind: t.kind, label: MAIL_KIND_LABELS[t.kind] };
    },

    /**
     * One-click unsubscribe (RFC 8058): turn off the token's kind of e-mail for its person; idempotent.
     * @throws ValidationError `invalid_unsubscribe_token`
     */
    async unsubscribe(token: unknown) {
      const t = readToken(token);
      await repo.unsubscribe(db, t.programId, t.email, t.kind);
      return { email: t.email, kind: t.kind, label: MAIL_KIND_LABELS[t.kind] };
    },

    /** Which kinds of e-mail the affiliate receives (`email` of program `programId`). */
    async preferences(programId: string, email: string): Promise<EmailPreference[]> {
      const off = await repo.unsubscribedKinds(db, programId, email);
      return AFFILIATE_MAIL_KINDS.map((kind) => ({ kind, label: MAIL_KIND_LABELS[kind], subscribed: !off.has(kind) }));
    },

    /**
     * Change some of the affiliate's kinds: `{ preferences: { payout_sent: false, … } }`.
     * @throws ValidationError (unknown kind, not a boolean)
     */
    async setPreferences(programId: string, email: string, input: unknown): Promise<EmailPreference[]> {
      const data = parseInput(emailPreferencesInput, input);
      for (const [kind, on] of Object.entries(data.preferences)) {
        if (on) await repo.resubscribe(db, programId, email, kind);
        else await repo.unsubscribe(db, programId, email, kind);
      }
      return this.preferences(programId, email);
    },

    /** `preferences` of the affiliate `affiliateId` (its program and e-mail). @throws NotFoundError */
    async affiliatePreferences(affiliateId: string): Promise<EmailPreference[]> {
      const a = await affiliateOf(affiliateId);
      return this.preferences(a.program_id, a.email);
    },

    /** `setPreferences` for the affiliate `affiliateId`. @throws ValidationError; NotFoundError */
    async setAffiliatePreferences(affiliateId: string, input: unknown): Promise<EmailPreference[]> {
      const a = await affiliateOf(affiliateId);
      return this.setPreferences(a.program_id, a.email, input);
    },

    unsubscribeUrl,
  };
}
export type MailOutbox = ReturnType<typeof createMailOutbox>;
