/**
 * Money rows reference their parent within the program (migration 0010): a conversion or commission must belong to an
 * affiliate of its own program, a commission's history to a commission of its program, and a program or affiliate
 * with money history is not deleted by a cascade.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sql } from 'kysely';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { recordSale } from '../../server/conversions/conversions.service.ts';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app?.stop();
});

/** The PostgreSQL error code a statement failed with (undefined when it succeeded). */
async function failure(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

it('refuses money rows whose affiliate is not of their program, and keeps a program with money history', async () => {
  const s = app.services;
  const shop = (await s.programs.findById(
    (
      await s.programs.create({ name: 'Shop', website: 'https://shop.test' })
    ).id,
  ))!;
  const other = (await s.programs.findById(
    (
      await s.programs.create({ name: 'Other', website: 'https://other.test' })
    ).id,
  ))!;
  const a = await s.affiliates.create(shop, { email: 'a@partners.test', name: 'A', status: 'approved' });
  const click = (await s.tracking.recordClick(
    { key: shop.public_key, code: a.code },
    { ip: '203.0.113.9', userAgent: null, origin: null },
  )) as { referral: string };

  const sale = await app.db
    .transaction()
    .execute((trx) =>
      recordSale(
        trx,
        shop,
        { id: click.referral, affiliate_id: a.id },
        { amount: 10_000, currency: 'usd', occurredAt: new Date(), source: 'api', externalId: 'order-1' },
      ),
    );
  expect(sale.duplicate).toBe(false);
  const commission = !sale.duplicate ? sale.commission : null;
  expect(commission).toMatchObject({ program_id: shop.id, affiliate_id: a.id, amount: 1000 });

  // The same affiliate under another program: refused (foreign key violation), nothing written.
  const misfiled = sql`
    INSERT INTO conversions (id, program_id, affiliate_id, kind, amount, currency, source, occurred_at)
    VALUES ('cnv_misfiled', ${other.id}, ${a.id}, 'sale', 500, 'usd', 'api', now())`.execute(app.db);
  expect(await failure(misfiled)).toBe('23503');
  const misfiledEvent = sql`
    INSERT INTO commission_events (commission_id, program_id, from_status, to_status, amount, actor, created_at)
    VALUES (${commission!.id}, ${other.id}, NULL, 'pending', 1000, 'system', now())`.execute(app.db);
  expect(await failure(misfiledEvent)).toBe('23503');

  // Deleting the program (or the affiliate) does not sweep its money history away.
  expect(await failure(sql`DELETE FROM programs WHERE id = ${shop.id}`.execute(app.db))).toBe('23503');
  expect(await failure(sql`DELETE FROM affiliates WHERE id = ${a.id}`.execute(app.db))).toBe('23503');
  const kept = await sql<{
    n: number;
  }>`SELECT count(*)::int AS n FROM conversions WHERE program_id = ${shop.id}`.execute(app.db);
  expect(kept.rows[0]!.n).toBe(1);

  // A program without money history can still be deleted.
  expect(await failure(sql`DELETE FROM programs WHERE id = ${other.id}`.execute(app.db))).toBeUndefined();
});
