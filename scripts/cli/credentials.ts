/** `api-key create|list|revoke|rotate` and `webhook-secret list|add|retire`: a program's credentials (credentials.service). */
import type { Command } from 'commander';
import { print, type CliContext } from './context.ts';

export function registerCredentialsCommands(cli: Command, ctx: CliContext): void {
  const apiKey = cli.command('api-key').description("a program's admin API keys");
  apiKey
    .command('create')
    .description('create an API key; prints it once')
    .requiredOption('--program <id>', 'program id')
    .requiredOption('--name <name>', 'what it is for, e.g. "Zapier"')
    .option('--json', 'print JSON')
    .action(async (o) => {
      print(
        await ctx.withProgram(o.program, (s, p) => s.credentials.createApiKey(p, { name: o.name })),
        Boolean(o.json),
      );
    });
  apiKey
    .command('list')
    .description('list API keys: prefix, name, last use, revoked')
    .requiredOption('--program <id>', 'program id')
    .option('--json', 'print JSON')
    .action(async (o) => {
      print(await ctx.withProgram(o.program, (s, p) => s.credentials.listApiKeys(p)), Boolean(o.json));
    });
  apiKey
    .command('revoke')
    .description('revoke an API key (not the last active one)')
    .requiredOption('--program <id>', 'program id')
    .requiredOption('--id <keyId>', 'API key id (key_…)')
    .option('--json', 'print JSON')
    .action(async (o) => {
      print(await ctx.withProgram(o.program, (s, p) => s.credentials.revokeApiKey(p, o.id)), Boolean(o.json));
    });
  apiKey
    .command('rotate')
    .description('rotate an API key: a new key with its name (printed once), the old one revoked')
    .requiredOption('--program <id>', 'program id')
    .requiredOption('--id <keyId>', 'API key id (key_…)')
    .option('--json', 'print JSON')
    .action(async (o) => {
      print(await ctx.withProgram(o.program, (s, p) => s.credentials.rotateApiKey(p, o.id)), Boolean(o.json));
    });

  const secret = cli.command('webhook-secret').description("a program's Stripe webhook signing secrets");
  secret
    .command('list')
    .description('list signing secrets (last 4 characters, retired)')
    .requiredOption('--program <id>', 'program id')
    .option('--json', 'print JSON')
    .action(async (o) => {
      print(await ctx.withProgram(o.program, (s, p) => s.credentials.listWebhookSecrets(p)), Boolean(o.json));
    });
  secret
    .command('retire')
    .description('retire a signing secret once Stripe signs with the new one (not the last active one)')
    .requiredOption('--program <id>', 'program id')
    .requiredOption('--id <secretId>', 'secret id (whs_…)')
    .option('--json', 'print JSON')
    .action(async (o) => {
      print(await ctx.withProgram(o.program, (s, p) => s.credentials.retireWebhookSecret(p, o.id)), Boolean(o.json));
    });
}
