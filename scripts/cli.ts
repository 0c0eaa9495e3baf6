/**
 * partnerkit's command line: `npm run cli -- <command>`. One module per command group in `cli/`.
 * Uses the running server's database when `npm start` is up, otherwise starts its own.
 */
import { Command } from 'commander';
import { ConfigError } from '../server/config.ts';
import { type CliContext, createCliContext } from './cli/context.ts';
import { registerProgramCommands } from './cli/program.ts';
import { registerAffiliateCommands } from './cli/affiliate.ts';
import { registerJobCommands } from './cli/jobs.ts';
import { registerPayoutCommands } from './cli/payouts.ts';
import { registerPartnerCommands } from './cli/partner.ts';
import { registerStripeCommands } from './cli/stripe.ts';
import { registerSecretsCommands } from './cli/secrets.ts';
import { registerCredentialsCommands } from './cli/credentials.ts';
import { registerWebhookCommands } from './cli/webhooks.ts';
import { registerConsoleCommands } from './cli/console.ts';
import { registerCommissionCommands } from './cli/commissions.ts';
import { registerRuleCommands } from './cli/rules.ts';

let ctx: CliContext;
try {
  ctx = createCliContext(process.env);
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
}
const cli = new Command('partnerkit').description('partnerkit command line').showHelpAfterError();
registerProgramCommands(cli, ctx);
registerAffiliateCommands(cli, ctx);
registerJobCommands(cli, ctx);
registerPayoutCommands(cli, ctx);
registerPartnerCommands(cli, ctx);
registerStripeCommands(cli, ctx);
registerSecretsCommands(cli, ctx);
registerCredentialsCommands(cli, ctx);
registerWebhookCommands(cli, ctx);
registerConsoleCommands(cli, ctx);
registerCommissionCommands(cli, ctx);
registerRuleCommands(cli, ctx);

try {
  await cli.parseAsync(process.argv);
} catch (err) {
  const e = err as { message?: string; error?: { message?: string } };
  console.error(`error: ${e.message ?? String(err)}`);
  process.exitCode = 1;
}
