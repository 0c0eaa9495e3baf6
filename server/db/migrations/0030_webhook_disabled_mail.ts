/**
 * The merchant team hears when an outgoing webhook endpoint is disabled: the `webhook_endpoint.disabled` notice
 * (written to `webhook_events` by the delivery job, in the transaction that disables the endpoint) queues one
 * `webhook_endpoint_disabled` mail in the same transaction, through migration 0029's `email_outbox_enqueue`.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE FUNCTION email_outbox_webhook_notices() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM email_outbox_enqueue(NEW.program_id, 'webhook_endpoint_disabled', 'merchant', NULL, NEW.object_id,
        'webhook_endpoint_disabled:' || NEW.id);
      RETURN NULL;
    END $$;
    CREATE TRIGGER email_outbox_webhook_endpoint_disabled AFTER INSERT ON webhook_events FOR EACH ROW
      WHEN (NEW.type = 'webhook_endpoint.disabled') EXECUTE FUNCTION email_outbox_webhook_notices();
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP TRIGGER email_outbox_webhook_endpoint_disabled ON webhook_events;
    DROP FUNCTION email_outbox_webhook_notices();
  `.execute(db);
}
