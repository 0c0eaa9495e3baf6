/**
 * A real SMTP server in the test process (`smtp-server`), each message parsed with `mailparser`: what a mail
 * client would show (from, to, subject, text and HTML parts, headers). `failNext(address, n)` makes the next `n`
 * messages to `address` fail with a temporary 451, as a busy server does.
 */
import type { AddressInfo } from 'node:net';
import { simpleParser, type AddressObject } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
  /** Raw header values by lower-case name (as sent, unfolded). */
  headers: Map<string, string>;
}

export async function startSmtpServer() {
  const messages: ReceivedMail[] = [];
  const failing = new Map<string, number>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', async () => {
        const to = session.envelope.rcptTo[0]?.address ?? '';
        const left = failing.get(to) ?? 0;
        if (left > 0) {
          failing.set(to, left - 1);
          const err = new Error('Try again later') as Error & { responseCode: number };
          err.responseCode = 451;
          return callback(err);
        }
        const parsed = await simpleParser(Buffer.concat(chunks));
        const addresses = (a: AddressObject | AddressObject[] | undefined) =>
          (Array.isArray(a) ? a : a ? [a] : []).flatMap((x) => x.value.map((v) => v.address ?? ''));
        messages.push({
          from: addresses(parsed.from)[0] ?? '',
          to: session.envelope.rcptTo.map((r) => r.address),
          subject: parsed.subject ?? '',
          text: parsed.text ?? '',
          html: typeof parsed.html === 'string' ? parsed.html : '',
          headers: new Map(
            parsed.headerLines.map((h) => [
              h.key,
              h.line
                .slice(h.line.indexOf(':') + 1)
                .replace(/\r?\n\s+/g, ' ')
                .trim(),
            ]),
          ),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    port,
    url: (from: string) => `smtp://127.0.0.1:${port}?from=${encodeURIComponent(from)}`,
    messages,
    /** Messages to `address`. */
    to: (address: string) => messages.filter((m) => m.to.includes(address)),
    /** The next `n` messages to `address` fail with 451. */
    failNext(address: string, n: number) {
      failing.set(address, n);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
export type SmtpServer = Awaited<ReturnType<typeof startSmtpServer>>;
