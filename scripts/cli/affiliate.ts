/**
 * `affiliate create|approve` (print the one-time "set your password" link), `affiliate update|delete|reject`,
 * `affiliate import FILE` / `affiliate export` (CSV, the same service functions as the API). Also `affiliates`.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { stringify } from 'csv-stringify/sync';
import { IMPORT_MAX_BYTES } from '../../server/affiliates/affiliates-csv.ts';
import { print, type CliContext } from './context.ts';

export function registerAffiliateCommands(cli: Command, ctx: CliContext): void {
  const affiliate = cli.command('affiliate').alias('affiliates').description("a program's affiliates");
  affiliate
    .command('create')
    .description('create an affiliate (approved with --approve, which also prints a set-password link)')
    .requiredOption('--program <id>', 'program id')
    .requiredOption('--email <email>', 'e-mail')
    .requiredOption('--name <name>', 'name')
    .option('--code <code>', 'referral code (generated when omitted)')
    .option('--approve', 'approve at once')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const out = await ctx.withProgram(o.program, async (s, program) => {
        const a = await s.affiliates.create(program, {
          email: o.email,
          name: o.name,
          code: o.code,
          status: o.approve ? 'approved' : 'pending',
        });
        return o.approve ? { ...a, setPasswordUrl: await s.partner.issueSetPasswordLink(a) } : a;
      });
      print(out, Boolean(o.json));
    });
  affiliate
    .command('approve')
    .description('approve an affiliate and print their one-time set-password link')
    .requiredOption('--program <id>', 'program id')
    .requiredOption('--id <affiliateId>', 'affiliate id')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const out = await ctx.withProgram(o.program, async (s, program) => {
        const a = await s.affiliates.transition(program, o.id, 'approve');
        return { ...a, setPasswordUrl: await s.partner.issueSetPasswordLink(a) };
      });
      print(out, Boolean(o.json));
    });
  affiliate
    .command('update')
    .description("change an affiliate's e-mail, name or code")
    .requiredOption('--program <id>', 'program id')
    .requiredOption('--id <affiliateId>', 'affiliate id')
    .option('--email <email>', 'new e-mail')
    .option('--name <name>', 'new name')
    .option('--code <code>', 'new referral code (?ref=<old code> stops attributing)')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const patch = { email: o.email, name: o.name, code: o.code };
      const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
      print(await ctx.withProgram(o.program, (s, p) => s.affiliates.update(p, o.id, defined)), Boolean(o.json));
    });
  affiliate
    .command('delete')
    .description('delete an affiliate with nothing on record (one with clicks or sales: suspend it instead)')
    .requiredOption('--program <id>', 'program id')
    .requiredOption('--id <affiliateId>', 'affiliate id')
    .action(async (o) => {
      await ctx.withProgram(o.program, (s, p) => s.affiliates.remove(p, o.id));
      console.log('affiliate deleted');
    });
  affiliate
    .command('reject')
    .description('reject an application, optionally with a reason (kept, and sent in the rejection e-mail)')
    .requiredOption('--program <id>', 'program id')
    .requiredOption('--id <affiliateId>', 'affiliate id')
    .option('--reason <text>', 'why (at most 500 characters)')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const input = o.reason !== undefined ? { reason: o.reason } : {};
      print(await ctx.withProgram(o.program, (s, p) => s.affiliates.transition(p, o.id, 'reject', input)), o.json);
    });
  affiliate
    .command('import <file>')
    .description('import affiliates from a CSV file with the columns email,name[,code]; prints one result per row')
    .requiredOption('--program <id>', 'program id')
    .option('--status <status>', 'approved (default) or pending')
    .option('--json', 'print JSON')
    .action(async (file: string, o) => {
      const bytes = await readFile(file);
      if (bytes.length > IMPORT_MAX_BYTES) throw new Error(`${file} is larger than ${IMPORT_MAX_BYTES} bytes`);
      const query = o.status ? { status: o.status } : {};
      const out = await ctx.withProgram(o.program, (s, p) => s.affiliates.importCsv(p, bytes, query));
      if (o.json) return print(out, true);
      for (const r of out.rows)
        console.log(
          r.result === 'created'
            ? `row ${r.row}: created ${r.affiliate.email} (${r.affiliate.code})`
            : `row ${r.row}: ${r.result} ${r.email}: ${r.reason}`,
        );
      console.log(`created: ${out.created}, skipped: ${out.skipped}, errors: ${out.errors}`);
    });
  affiliate
    .command('export')
    .description("print the program's affiliates as CSV (formula-like cells neutralised)")
    .requiredOption('--program <id>', 'program id')
    .option('--status <status>', 'pending, approved, rejected or suspended')
    .option('--search <text>', 'a part of the name, e-mail or code')
    .option('--sort <column>', 'created_at (default), name or earnings')
    .option('--order <order>', 'asc or desc')
    .action(async (o) => {
      const query = Object.fromEntries(
        Object.entries({ status: o.status, search: o.search, sort: o.sort, order: o.order }).filter(([, v]) => v),
      );
      await ctx.withProgram(o.program, async (s, p) => {
        for await (const row of s.affiliates.exportCsv(p, query)) process.stdout.write(stringify([row]));
      });
    });
}
