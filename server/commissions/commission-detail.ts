/**
 * One commission as the merchant console's detail page shows it (`GET /api/v1/commissions/:id`): the commission
 * and its full history (`commissions.service.ts`), the rule that set its amount, the conversion it was earned on,
 * and the Stripe objects of that sale with their Dashboard links (test mode when the recording event's `livemode`
 * was false). A separate module because it reads across concepts (conversions, rules, the Stripe inbox) that
 * themselves import the commissions service.
 */
import type { Db } from '../db/database.ts';
import type { ConversionRow, ProgramRow } from '../db/schema.ts';
import { findConversion } from '../conversions/conversions.repository.ts';
import { type Conversion, toConversion } from '../conversions/conversions.service.ts';
import { findEvent } from '../stripe/stripe-events.repository.ts';
import { type StripeObjectKind, stripeDashboardUrl } from '../stripe/dashboard-links.ts';
import { findRule } from './commission-rules.repository.ts';
import { type CommissionRule, toCommissionRule } from './commission-rules.service.ts';
import type { Commission, CommissionEvent, CommissionsService } from './commissions.service.ts';

/** A Stripe object of the sale: its kind, id and Dashboard page (null when we do not link it). */
export interface StripeObjectLink {
  kind: StripeObjectKind;
  id: string;
  dashboardUrl: string | null;
}

export interface CommissionDetail extends Commission {
  events: CommissionEvent[];
  /** The rule that set the amount (archived ones too); null = the program's default rate. */
  rule: CommissionRule | null;
  /** The conversion it was earned on; null for a reinstatement (a credit not tied to a conversion). */
  conversion: Conversion | null;
  stripe: {
    /** The mode of the Stripe event that recorded the conversion; null when there is none on record. */
    livemode: boolean | null;
    objects: StripeObjectLink[];
  };
}

/** The Stripe ids a conversion holds, in the order the detail page lists them. */
function stripeIds(c: ConversionRow): [StripeObjectKind, string | null][] {
  return [
    ['payment_intent', c.stripe_payment_intent_id],
    ['charge', c.stripe_charge_id],
    ['invoice', c.stripe_invoice_id],
    ['checkout_session', c.stripe_checkout_session_id],
    ['customer', c.stripe_customer_id],
    ['subscription', c.stripe_subscription_id],
    ['dispute', c.stripe_dispute_id],
    ['event', c.stripe_event_id],
  ];
}

export function createCommissionDetailsService(deps: { db: Db; commissions: CommissionsService }) {
  const { db, commissions } = deps;
  return {
    /**
     * The commission with its history, rule, conversion and Stripe links (see `CommissionDetail`).
     * @throws NotFoundError when absent or in another program
     */
    async get(program: ProgramRow, id: string): Promise<CommissionDetail> {
      const commission = await commissions.get(program, id);
      const [rule, conversion] = await Promise.all([
        commission.ruleId ? findRule(db, program.id, commission.ruleId) : undefined,
        commission.conversionId ? findConversion(db, program.id, commission.conversionId) : undefined,
      ]);
      const event = conversion?.stripe_event_id
        ? await findEvent(db, program.id, conversion.stripe_event_id)
        : undefined;
      const livemode = event ? event.livemode : null;
      const objects = conversion
        ? stripeIds(conversion).flatMap(([kind, sid]) =>
            sid ? [{ kind, id: sid, dashboardUrl: stripeDashboardUrl(kind, sid, livemode) }] : [],
          )
        : [];
      return {
        ...commission,
        rule: rule ? toCommissionRule(rule) : null,
        conversion: conversion ? toConversion(conversion) : null,
        stripe: { livemode, objects },
      };
    },
  };
}
export type CommissionDetailsService = ReturnType<typeof createCommissionDetailsService>;
