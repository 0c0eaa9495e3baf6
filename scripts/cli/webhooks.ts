/**
 * `webhooks add|list|update|remove|rotate|deliveries|redeliver`: a program's outgoing webhook endpoints
 * (outgoing-webhooks/webhook-endpoints.service), as the admin API `/api/v1/webhook-endpoints` does.
 */
import type { Command } from 'commander';
import { print, type CliContext } from './context.ts';

const list = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export function registerWebhookCommands(cli: Command, ctx: CliContext): void {
  const webhooks = cli.command('webhooks').description("a program's outgoing webhook endpoints");
  webhooks
    .command('add')
    .description('add an endpoint; prints its whsec_ signing secret')
    .requiredOption('--program <id>', 'program id')
    .requiredOption('--url <url>', 'where events are POSTed')
    .requiredOption('--events <types>', 'comma-separated event types, e.g. commission.created,payout.completed')
    .option('--description <text>', 'what it is for')
    .option('--disabled', 'create it disabled')
    .option('--json', 'print JSON')
    .action(async (o) => {
      print(
        await ctx.withProgram(o.program, (s, p) =>
          s.outgoingWebhooks.create(p, {
            url: o.url,
            eventTypes: list(o.events),
            ...(o.description ? { description: o.description } : {}),
            ...(o.disabled ? { enabled: false } : {}),
          }),
        ),
        Boolean(o.json),
      );
    });
  webhooks
    .command('list')
    .description('list endpoints: url, event types, enabled, failing since')
    .requiredOption('--program <id>', 'program id')
    .option('--json', 'print JSON')
    .action(async (o) => {
      print(await ctx.withProgram(o.program, (s, p) => s.outgoingWebhooks.list(p)), Boolean(o.json));
    });
  webhooks
    .command('update')
    .description('change an endpoint (enabling a disabled one resumes its deliveries)')
    .requiredOption('--program <id>', 'program id')
    .requiredOption('--id <endpointId>', 'endpoint id (whe_…)')
    .option('--url <url>', 'new URL')
    .option('--events <types>', 'comma-separated event types')
    .option('--description <text>', 'new description')
    .option('--enable', 'enable it')
    .option('--disable', 'disable it')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const input = {
        ...(o.url ? { url: o.url } : {}),
        ...(o.events ? { eventTypes: list(o.events) } : {}),
        ...(o.description !== undefined ? { description: o.description } : {}),
        ...(o.enable ? { enabled: true } : o.disable ? { enabled: false } : {}),
      };
      print(await ctx.withProgram(o.program, (s, p) => s.outgoingWebhooks.update(p, o.id, input)), Boolean(o.json));
    });
  webhooks
    .command('remove')
    .description('delete an endpoint and its delivery log')
    .requiredOption('--program <id>', 'program id')
    .requiredOption('--id <endpointId>', 'endpoint id (whe_…)')
    .option('--json', 'print JSON')
    .action(async (o) => {
      await ctx.withProgram(o.program, (s, p) => s.outgoingWebhooks.remove(p, o.id));
      print({ removed: o.id }, Boolean(o.json));
    });
  webhooks
    .command('rotate')
    .description('a new signing secret (printed); the old one keeps signing too for 24 h')
    .requiredOption('--program <id>', 'program id')
    .requiredOption('--id <endpointId>', 'endpoint id (whe_…)')
    .option('--json', 'print JSON')
    .action(async (o) => {
      print(await ctx.withProgram(o.program, (s, p) => s.outgoingWebhooks.rotateSecret(p, o.id)), Boolean(o.json));
    });
  webhooks
    .command('deliveries')
    .description('the delivery log of an endpoint, newest first (status, attempts, answers)')
    .requiredOption('--program <id>', 'program id')
    .requiredOption('--id <endpointId>', 'endpoint id (whe_…)')
    .option('--limit <n>', 'how many (1-100)', '50')
    .option('--json', 'print JSON')
    .action(async (o) => {
      print(
        await ctx.withProgram(o.program, (s, p) => s.outgoingWebhooks.listDeliveries(p, o.id, { limit: o.limit })),
        Boolean(o.json),
      );
    });
  webhooks
    .command('redeliver')
    .description('send a delivery again now (same webhook-id)')
    .requiredOption('--program <id>', 'program id')
    .requiredOption('--id <endpointId>', 'endpoint id (whe_…)')
    .requiredOption('--delivery <deliveryId>', 'delivery id (whd_…)')
    .option('--json', 'print JSON')
    .action(async (o) => {
      print(
        await ctx.withProgram(o.program, (s, p) => s.outgoingWebhooks.redeliver(p, o.id, o.delivery)),
        Boolean(o.json),
      );
    });
}
