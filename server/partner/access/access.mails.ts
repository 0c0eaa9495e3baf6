/**
 * The access e-mails partnerkit sends to affiliates: set-password and reset links (plain text: every client
 * renders it, links stay visible).
 */
import type { Mail } from '../../mail/mailer.ts';

/** After approval or a direct invite: the one-time link to set a password. */
export function setPasswordMail(m: {
  to: string;
  name: string;
  programName: string;
  url: string;
  ttlDays: number;
}): Mail {
  return {
    to: m.to,
    subject: `Set your password for the ${m.programName} partner program`,
    text: [
      `Hi ${m.name},`,
      '',
      `You are now a partner of ${m.programName}. Set your password to open your partner dashboard, where you`,
      'find your referral link and see every click, sale, commission and payout:',
      '',
      m.url,
      '',
      `The link works once and expires in ${m.ttlDays} days. If you did not expect this e-mail, ignore it.`,
    ].join('\n'),
  };
}

/** "Forgot your password". */
export function resetPasswordMail(m: {
  to: string;
  name: string;
  programName: string;
  url: string;
  ttlMinutes: number;
}): Mail {
  return {
    to: m.to,
    subject: `Reset your ${m.programName} partner password`,
    text: [
      `Hi ${m.name},`,
      '',
      `Someone asked to reset the password of your ${m.programName} partner account. To choose a new one, open:`,
      '',
      m.url,
      '',
      `The link works once and expires in ${m.ttlMinutes} minutes. If you did not ask for it, ignore this e-mail;`,
      'your password stays as it is.',
    ].join('\n'),
  };
}
