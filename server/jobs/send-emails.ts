/**
 * Job `send-emails`: every `SEND_EMAILS_EVERY`, sends what the e-mail outbox holds due (`mail/outbox.service.ts`
 * `sendDue`: rows claimed with SKIP LOCKED, so several workers share the work and send nothing twice; failures
 * wait with backoff), then prunes finished rows past the retention.
 */
import type { Agenda } from 'agenda';
import type { MailOutbox } from '../mail/outbox.service.ts';
import { inJobContext, type Logger } from '../lib/logger.ts';

export const SEND_EMAILS = 'send-emails';
/** How often the outbox is looked at: the longest a mail waits in it when nothing fails. */
export const SEND_EMAILS_EVERY = '30 seconds';

export function defineSendEmails(agenda: Agenda, outbox: MailOutbox, logger: Logger): void {
  agenda.define(
    SEND_EMAILS,
    inJobContext(SEND_EMAILS, async () => {
      const c = await outbox.sendDue();
      if (c.sent + c.logged + c.retry + c.failed > 0)
        logger.info(
          `send-emails: ${c.sent} sent, ${c.logged} logged (no SMTP_URL), ${c.skipped} skipped, ${c.retry} to retry, ${c.failed} given up`,
        );
    }),
  );
}
