/**
 * Outgoing e-mail to affiliates (set-password and reset links, payout-settings notices) through nodemailer.
 *
 * `SMTP_URL` configures the transport, e.g. `smtp://user:pass@smtp.example.com:587` or
 * `smtps://user:pass@smtp.example.com:465`; an optional `from` query parameter sets the sender
 * (`...?from=partners@acme.com`), default `partnerkit <no-reply@<PUBLIC_URL host>>`.
 * Without `SMTP_URL` nothing is sent: the message (with its link) is written to the log instead, so a
 * merchant can still hand the link over by hand (the admin API and the CLI also return it).
 */
import nodemailer from 'nodemailer';
import type { Config } from '../config.ts';
import type { Logger } from '../lib/logger.ts';

export interface Mail {
  to: string;
  subject: string;
  /** Plain text body; links are written out in full. */
  text: string;
  /** HTML alternative (every user-supplied value escaped, `mail/templates.ts`). */
  html?: string;
  /** Extra headers, e.g. `List-Unsubscribe` and `List-Unsubscribe-Post` (RFC 8058). */
  headers?: Record<string, string>;
}

export interface Mailer {
  /** True when an SMTP transport is configured (mail is really sent). */
  readonly configured: boolean;
  /**
   * Send `mail`. Never throws: a failure is logged and reported as `false`, because a mail problem must not
   * fail the request that triggered it (the link is returned to the merchant either way).
   * @returns true when the SMTP server accepted the message
   */
  send(mail: Mail): Promise<boolean>;
  /**
   * Send `mail` for the outbox job: resolves `'sent'` when the SMTP server accepted it, `'logged'` without
   * `SMTP_URL` (written to the log as `send` does).
   * @throws the transport's error (refused, timed out): the outbox retries
   */
  deliver(mail: Mail): Promise<'sent' | 'logged'>;
  /** Close pooled SMTP connections. */
  close(): void;
}

/** Split `from` off the SMTP URL (nodemailer would read unknown query parameters as transport options). */
function parseSmtpUrl(smtpUrl: string, publicUrl: string): { url: string; from: string } {
  let from = `partnerkit <no-reply@${new URL(publicUrl).hostname}>`;
  try {
    const u = new URL(smtpUrl);
    const f = u.searchParams.get('from');
    if (f) from = f;
    u.searchParams.delete('from');
    return { url: u.toString(), from };
  } catch {
    return { url: smtpUrl, from };
  }
}

/** @param logger where unsent messages (no `SMTP_URL`) and send failures are written */
export function createMailer(config: Pick<Config, 'smtpUrl' | 'publicUrl'>, logger: Logger): Mailer {
  if (!config.smtpUrl) {
    return {
      configured: false,
      async send(mail) {
        logger.info(
          { mailTo: mail.to, subject: mail.subject },
          `mail (SMTP_URL not set, not sent) to ${mail.to}: ${mail.subject}\n${mail.text}`,
        );
        return false;
      },
      async deliver(mail) {
        await this.send(mail);
        return 'logged';
      },
      close() {},
    };
  }
  const { url, from } = parseSmtpUrl(config.smtpUrl, config.publicUrl);
  // Short timeouts: the access mails are sent inside an API request; a dead SMTP server must not hang it for minutes.
  const transport = nodemailer.createTransport(url, {
    from,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
  } as Parameters<typeof nodemailer.createTransport>[1]);
  const deliver = async (mail: Mail): Promise<'sent'> => {
    await transport.sendMail({
      from,
      to: mail.to,
      subject: mail.subject,
      text: mail.text,
      ...(mail.html ? { html: mail.html } : {}),
      ...(mail.headers ? { headers: mail.headers } : {}),
    });
    return 'sent';
  };
  return {
    configured: true,
    deliver,
    async send(mail) {
      try {
        await deliver(mail);
        return true;
      } catch (err) {
        logger.error({ err, mailTo: mail.to }, `sending mail to ${mail.to} failed`);
        return false;
      }
    },
    close() {
      transport.close();
    },
  };
}
