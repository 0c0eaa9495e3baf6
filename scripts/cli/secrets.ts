/**
 * `secrets rotate`: re-encrypt every stored secret (programs' Stripe API keys and webhook signing secrets, and
 * partners' tax ids) under
 * the current `SECRET_KEY`. Values that open only with `SECRET_KEY_PREVIOUS` are re-encrypted, plain-text ones
 * encrypted, current ones left as they are; safe to run again and on a live system (README, "Rotating SECRET_KEY").
 * Prints the counts (`--json`: `{ sealed, reencrypted, current, changed, failed, taxIds: { reencrypted, current,
 * changed, failed } }`); exits 1, listing where (never
 * what), when some values open with neither key.
 */
import type { Command } from 'commander';
import { print, type CliContext } from './context.ts';

export function registerSecretsCommands(cli: Command, ctx: CliContext): void {
  const secrets = cli.command('secrets').description('secrets stored encrypted with SECRET_KEY');
  secrets
    .command('rotate')
    .description('re-encrypt every stored secret with SECRET_KEY (after setting SECRET_KEY_PREVIOUS to the old key)')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const [sweep, tax] = await ctx.withServices(async (s) => [
        await s.programSecrets.sweep({ reencrypt: true }),
        await s.taxInfo.sweep({ reencrypt: true }),
      ]);
      const { underPrevious: _left, failed, ...counts } = sweep;
      print({ ...counts, failed: failed.length, taxIds: { ...tax, failed: tax.failed.length } }, Boolean(o.json));
      if (failed.length + tax.failed.length > 0) {
        for (const f of failed) console.error(`cannot decrypt the ${f.kind} ${f.id} of program ${f.programId}`);
        for (const f of tax.failed)
          console.error(`cannot decrypt the tax id of affiliate ${f.affiliateId} of program ${f.programId}`);
        throw new Error(
          `${failed.length + tax.failed.length} stored secret(s) open with neither SECRET_KEY nor SECRET_KEY_PREVIOUS; set the key they ` +
            'were encrypted with as SECRET_KEY_PREVIOUS and run this again',
        );
      }
    });
}
