/**
 * The kinds of e-mail the outbox sends (migration 0029's triggers write them), who receives each, and the label
 * a person sees when choosing which to receive. Every kind here can be turned off (one-click unsubscribe,
 * RFC 8058); the set-password and reset mails are transactional, not listed, and always sent.
 */
export const AFFILIATE_MAIL_KINDS = [
  'application_received',
  'affiliate_approved',
  'affiliate_rejected',
  'first_commission',
  'commission_approved',
  'payout_sent',
  'clawback',
] as const;
export const MERCHANT_MAIL_KINDS = [
  'new_application',
  'commission_on_hold',
  'payout_run_ready',
  'stripe_event_failed',
  'webhook_endpoint_disabled',
] as const;

export type AffiliateMailKind = (typeof AFFILIATE_MAIL_KINDS)[number];
export type MerchantMailKind = (typeof MERCHANT_MAIL_KINDS)[number];
export type MailKind = AffiliateMailKind | MerchantMailKind;

/** What each kind is, in the words a person choosing their e-mails reads. */
export const MAIL_KIND_LABELS: Record<MailKind, string> = {
  application_received: 'Your application was received',
  affiliate_approved: 'Your application was approved',
  affiliate_rejected: 'Your application was declined',
  first_commission: 'Your first commission',
  commission_approved: 'A commission was approved',
  payout_sent: 'A payout was sent',
  clawback: 'A commission was taken back (refund, dispute, clawback)',
  new_application: 'A new partner application',
  commission_on_hold: 'A commission is on hold for review',
  payout_run_ready: 'A payout run is ready',
  stripe_event_failed: 'A Stripe event failed',
  webhook_endpoint_disabled: 'A webhook endpoint was disabled',
};

export function isMailKind(kind: string): kind is MailKind {
  return kind in MAIL_KIND_LABELS;
}
