/**
 * Every service of the app over one database handle, and the options the app takes (clock, logger, Stripe
 * endpoint). Imported by `app.ts` (lifecycle), `web/koa.ts` (types only), the CLI and tests.
 */
import type { Config } from './config.ts';
import type { Db } from './db/database.ts';
import { createProgramsService } from './programs/programs.service.ts';
import { createProgramSecrets } from './programs/program-secrets.ts';
import { createCredentialsService } from './programs/credentials.service.ts';
import { createSecretBox } from './lib/secrets.ts';
import { createAffiliatesService } from './affiliates/affiliates.service.ts';
import { createLinksService } from './links/links.service.ts';
import { createTrackingService } from './tracking/tracking.service.ts';
import { createConversionsService } from './conversions/conversions.service.ts';
import { createCommissionsService } from './commissions/commissions.service.ts';
import { createCommissionRulesService } from './commissions/commission-rules.service.ts';
import { createCommissionDetailsService } from './commissions/commission-detail.ts';
import { createPayoutsService } from './payouts/payouts.service.ts';
import { createPayAllService } from './payouts/pay-all.ts';
import { createConnectOnboardingService } from './payouts/connect-onboarding.ts';
import { createEarningsService } from './payouts/earnings.ts';
import { createTaxInfoService } from './partner/tax-info.service.ts';
import { createStripeApi, type StripeEndpoint } from './stripe/stripe-api.ts';
import { createStripeSettingsService } from './stripe/stripe-settings.service.ts';
import { createStripeEventsService } from './stripe/stripe-events.service.ts';
import { createStripeWebhooksService } from './stripe/webhooks/webhooks.service.ts';
import { createPartnerService } from './partner/partner.service.ts';
import { createMailer } from './mail/mailer.ts';
import { createMailOutbox } from './mail/outbox.service.ts';
import { createStatsService } from './programs/stats.service.ts';
import { createOutgoingWebhooksService } from './outgoing-webhooks/webhook-endpoints.service.ts';
import { createConsoleService } from './console/console.service.ts';
import { silentLogger, type Logger } from './lib/logger.ts';
import type { Metrics } from './lib/metrics.ts';

export interface AppOptions {
  /** The clock (tests move time forward to pass hold periods). */
  now?: () => Date;
  /** Where log lines go; default: JSON lines on stdout at `config.logLevel` (`lib/logger.ts`). */
  logger?: Logger;
  /**
   * Instead of `logger`: receives the message and `err` of every line of level `info` and above, whatever
   * `LOG_LEVEL` says (tests collect messages this way).
   */
  log?: (msg: string, err?: unknown) => void;
  /** Where Stripe API calls go (payout transfers); default: Stripe. Tests point it at a loopback fake. */
  stripeEndpoint?: StripeEndpoint;
}

export type Services = ReturnType<typeof createServices>;

/**
 * Every service, built over one database handle.
 * @param opts.logger default: nothing is logged; `opts.metrics` default: nothing is recorded
 */
export function createServices(db: Db, config: Config, opts: AppOptions & { metrics?: Metrics | null } = {}) {
  const now = opts.now;
  const logger = opts.logger ?? silentLogger;
  const metrics = opts.metrics ?? null;
  const box = createSecretBox(config);
  const programSecrets = createProgramSecrets({ db, box });
  const affiliates = createAffiliatesService({ db });
  const links = createLinksService({ db, config });
  const mailer = createMailer(config, logger);
  // The e-mail outbox (issue 21); approval mails carry the set-password link the partner side issues.
  const mailOutbox = createMailOutbox({
    db,
    config,
    mailer,
    box: createSecretBox(config),
    now,
    logger,
    issueSetPasswordLink: (affiliateId) => partner.issueSetPasswordLink({ id: affiliateId }),
  });
  const partner = createPartnerService({ db, config, now, mailer, mailOutbox, affiliates, links });
  // Statements, yearly earnings and the partner's tax details (issue 22).
  const taxInfo = createTaxInfoService({ db, box, now, confirmPassword: partner.confirmAffiliatePassword });
  const earnings = createEarningsService({ db, now, taxInfo });
  const payouts = createPayoutsService({ db, now, stripeEndpoint: opts.stripeEndpoint, logger, programSecrets });
  const programs = createProgramsService({ db, config, programSecrets });
  const commissions = createCommissionsService({ db, now });
  return {
    programSecrets,
    programs,
    stats: createStatsService({ db, now }),
    affiliates,
    links,
    tracking: createTrackingService({ db, now, logger, metrics }),
    conversions: createConversionsService({ db, now }),
    commissions,
    // A commission with its rule, conversion and Stripe links (the console's detail page, GET /commissions/:id).
    commissionDetails: createCommissionDetailsService({ db, commissions }),
    commissionRules: createCommissionRulesService({ db, now }),
    payouts,
    payAll: createPayAllService({ db, payouts, programSecrets, stripeEndpoint: opts.stripeEndpoint }),
    stripeWebhooks: createStripeWebhooksService({
      db,
      now,
      logger,
      metrics,
      stripeApi: createStripeApi(opts.stripeEndpoint),
      programSecrets,
    }),
    stripeSettings: createStripeSettingsService({ db, programSecrets }),
    stripeEvents: createStripeEventsService({ db }),
    partner,
    mailOutbox,
    stripeConnect: createConnectOnboardingService({
      db,
      config,
      programSecrets,
      stripeEndpoint: opts.stripeEndpoint,
      payoutSettings: partner,
    }),
    taxInfo,
    earnings,
    // API keys and webhook signing secrets as the merchant manages them.
    credentials: createCredentialsService({ db, now, programSecrets }),
    // Outgoing webhooks to the merchant's systems (endpoints, delivery, log).
    outgoingWebhooks: createOutgoingWebhooksService({
      db,
      box,
      allowPrivate: config.webhookAllowPrivate,
      now,
      logger,
    }),
    // The merchant console's users, memberships, sessions and first-run setup (issue 20).
    console: createConsoleService({ db, config, programs, now }),
  };
}
