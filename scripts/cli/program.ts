/** `program create`, `program add-webhook-secret`, `program set-domains`, `set-notification-email`, `set-branding`. */
import type { Command } from 'commander';
import { print, type CliContext } from './context.ts';

export function registerProgramCommands(cli: Command, ctx: CliContext): void {
  const program = cli.command('program').description('merchant programs');
  program
    .command('create')
    .description('create a program; prints its id, public key, API key (shown once), webhook URL and snippet')
    .requiredOption('--name <name>', 'program name')
    .requiredOption('--website <url>', "merchant's website, e.g. https://acme.test")
    .option('--currency <code>', 'ISO 4217 currency of the program', 'usd')
    .option('--stripe-webhook-secret <whsec>', "the Stripe endpoint's signing secret (whsec_...)")
    .option('--json', 'print JSON')
    .action(async (o) => {
      const created = await ctx.withServices((s) =>
        s.programs.create({
          name: o.name,
          website: o.website,
          currency: o.currency,
          stripeWebhookSecret: o.stripeWebhookSecret,
        }),
      );
      print(created, Boolean(o.json));
    });
  program
    .command('add-webhook-secret')
    .description('add a Stripe webhook signing secret (several may be active while you rotate)')
    .requiredOption('--program <id>', 'program id')
    .requiredOption('--secret <whsec>', 'signing secret, whsec_...')
    .action(async (o) => {
      await ctx.withProgram(o.program, async (s, p) => {
        await s.programs.addWebhookSecret(p.id, o.secret);
      });
      console.log('webhook secret added');
    });
  program
    .command('set-domains')
    .description(
      "set the merchant's other root domains (the snippet's data-domains): their pages may send clicks, links may point at them",
    )
    .requiredOption('--program <id>', 'program id')
    .requiredOption('--domains <list>', 'comma-separated host names, e.g. shop-eu.com,shop.co.uk ("" clears the list)')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const domains = String(o.domains)
        .split(',')
        .map((d) => d.trim())
        .filter(Boolean);
      const settings = await ctx.withProgram(o.program, (s, p) =>
        s.programs.updateSettings(p, { allowedDomains: domains }),
      );
      print({ id: settings.id, website: settings.website, allowedDomains: settings.allowedDomains }, Boolean(o.json));
    });
  program
    .command('set-notification-email')
    .description(
      "where the merchant team's notification e-mails go (new applications, holds, payout runs, failed Stripe events)",
    )
    .requiredOption('--program <id>', 'program id')
    .requiredOption('--email <address>', 'the team\'s address ("" stops them)')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const email = String(o.email).trim();
      const settings = await ctx.withProgram(o.program, (s, p) =>
        s.programs.updateSettings(p, { notificationEmail: email === '' ? null : email }),
      );
      print({ id: settings.id, notificationEmail: settings.notificationEmail }, Boolean(o.json));
    });
  program
    .command('set-branding')
    .description('the logo and accent colour of the partner dashboard, its apply and login pages, and the e-mails')
    .requiredOption('--program <id>', 'program id')
    .option('--logo <url>', 'https:// URL of the logo image ("" removes it)')
    .option('--accent <hex>', 'accent colour #rrggbb ("" removes it)')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const value = (v: unknown) => (v === undefined ? undefined : String(v).trim() === '' ? null : String(v).trim());
      const branding = { logoUrl: value(o.logo), accentColor: value(o.accent) };
      const settings = await ctx.withProgram(o.program, (s, p) => s.programs.updateSettings(p, { branding }));
      print({ id: settings.id, ...settings.branding }, Boolean(o.json));
    });
}
