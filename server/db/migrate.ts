/**
 * Runs the Kysely Migrator over the migrations listed here. Listing them statically (instead of reading the
 * folder) keeps them working the same under tsx, vitest and a bundler.
 */
import { Migrator, type Migration, type MigrationProvider, type Kysely } from 'kysely';
import * as m0001 from './migrations/0001_initial.ts';
import * as m0002 from './migrations/0002_stripe_conversions.ts';
import * as m0003 from './migrations/0003_commission_rules_payouts.ts';
import * as m0004 from './migrations/0004_partner_dashboard.ts';
import * as m0005 from './migrations/0005_click_rollups.ts';
import * as m0006 from './migrations/0006_cheaper_referral_id_check.ts';
import * as m0007 from './migrations/0007_affiliate_totals.ts';
import * as m0008 from './migrations/0008_clicks_by_referral_and_id.ts';
import * as m0009 from './migrations/0009_conversion_click_ip.ts';
import * as m0010 from './migrations/0010_money_rows_reference_their_affiliate.ts';
import * as m0011 from './migrations/0011_secrets_encrypted_at_rest.ts';
import * as m0012 from './migrations/0012_multi_instance.ts';
import * as m0013 from './migrations/0013_subscription_sequence_unique.ts';
import * as m0014 from './migrations/0014_payments_outside_checkout.ts';
import * as m0018 from './migrations/0018_unreferred_payments.ts';
import * as m0019 from './migrations/0019_credit_note_voids.ts';
import * as m0021 from './migrations/0021_pay_all.ts';
import * as m0025 from './migrations/0025_credentials_and_edits.ts';
import * as m0026 from './migrations/0026_outgoing_webhooks.ts';
import * as m0029 from './migrations/0029_email_outbox.ts';
import * as m0030 from './migrations/0030_webhook_disabled_mail.ts';
import * as m0028 from './migrations/0028_affiliate_tax_info.ts';
import * as m0027 from './migrations/0027_console_users.ts';
import * as m0031 from './migrations/0031_affiliate_rejection_reason.ts';
import * as m0032 from './migrations/0032_program_branding.ts';

const migrations: Record<string, Migration> = {
  '0001_initial': m0001,
  '0002_stripe_conversions': m0002,
  '0003_commission_rules_payouts': m0003,
  '0004_partner_dashboard': m0004,
  '0005_click_rollups': m0005,
  '0006_cheaper_referral_id_check': m0006,
  '0007_affiliate_totals': m0007,
  '0008_clicks_by_referral_and_id': m0008,
  '0009_conversion_click_ip': m0009,
  '0010_money_rows_reference_their_affiliate': m0010,
  '0011_secrets_encrypted_at_rest': m0011,
  '0012_multi_instance': m0012,
  '0013_subscription_sequence_unique': m0013,
  '0014_payments_outside_checkout': m0014,
  '0018_unreferred_payments': m0018,
  '0019_credit_note_voids': m0019,
  '0021_pay_all': m0021,
  '0025_credentials_and_edits': m0025,
  '0026_outgoing_webhooks': m0026,
  '0029_email_outbox': m0029,
  '0030_webhook_disabled_mail': m0030,
  '0028_affiliate_tax_info': m0028,
  '0027_console_users': m0027,
  '0031_affiliate_rejection_reason': m0031,
  '0032_program_branding': m0032,
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/** Every migration this build knows (names as stored in `kysely_migration`); `GET /readyz` checks all are applied. */
export const MIGRATION_NAMES: readonly string[] = Object.freeze(Object.keys(migrations));

/**
 * Bring the schema to the latest version.
 * @returns the names of the migrations applied now (empty when up to date)
 * @throws the migration's error; the failed migration's transaction is rolled back
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations run on any schema (Kysely's Migrator takes `Kysely<any>`)
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  // Concepts add their migrations independently; a database that already has a later one still takes an
  // earlier-numbered one that lands after it (each migration only adds its own tables and columns).
  const migrator = new Migrator({ db, provider, allowUnorderedMigrations: true });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error;
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
