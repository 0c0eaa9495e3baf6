/**
 * Commission rules: CRUD for the admin API (`/api/v1/commission-rules`) and their engine form
 * (`rules.ts`). Rules are archived instead of deleted, so the `rule_id` of past commissions keeps explaining
 * their amount. Amount maps are per currency in minor units (`{ "usd": 500, "jpy": 800 }`), rates in basis points.
 */
import { z } from 'zod';
import { LRUCache } from 'lru-cache';
import type { Db, DbOrTrx } from '../db/database.ts';
import type { CommissionRuleRow, ProgramRow } from '../db/schema.ts';
import { NotFoundError, UnprocessableError } from '../lib/errors.ts';
import { newId } from '../lib/ids.ts';
import { idText, parseInput, storableText } from '../lib/validate.ts';
import { findAffiliate } from '../affiliates/affiliates.repository.ts';
import { evaluateCommission, type CommissionFacts, type CommissionOutcome, type CommissionRuleSpec } from './rules.ts';
import * as repo from './commission-rules.repository.ts';
import { formatMoney } from './money.ts';
import { CURRENCY_MESSAGE, CURRENCY_PATTERN, currencyCode } from '../lib/schemas.ts';

const MAX_MINOR_UNITS = 1_000_000_000_000;

/** `{ currency: minor units }`; currency codes are lower-cased. */
const currencyAmounts = z
  .record(z.string().regex(CURRENCY_PATTERN, CURRENCY_MESSAGE), z.number().int().min(0).max(MAX_MINOR_UNITS))
  .transform(
    (m) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k.toLowerCase(), v])) as Record<string, number>,
  );

const stripeRef = storableText().trim().min(1).max(255).nullable();

/** The full shape of a rule as the merchant writes it (create; a PATCH is merged onto the rule, then checked whole). */
export const ruleInput = z
  .object({
    name: storableText().trim().min(1).max(200),
    priority: z.number().int().min(0).max(1_000_000).default(100),
    event: z.enum(['sale', 'lead']).default('sale'),
    affiliateId: idText.nullable().default(null),
    stripeProductId: stripeRef.default(null),
    stripePriceId: stripeRef.default(null),
    type: z.enum(['percentage', 'flat']),
    rateBps: z.number().int().min(0).max(10_000).nullable().default(null),
    flatAmounts: currencyAmounts.nullable().default(null),
    minAmounts: currencyAmounts.default({}),
    maxAmounts: currencyAmounts.default({}),
    recurring: z.enum(['first_payment', 'months', 'lifetime']).default('lifetime'),
    recurringMonths: z.number().int().min(1).max(1200).nullable().default(null),
    rateAfterBps: z.number().int().min(0).max(10_000).nullable().default(null),
  })
  .strict()
  .superRefine((r, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (r.type === 'percentage' && r.rateBps === null) issue('rateBps', 'is required for a percentage rule');
    if (r.type === 'percentage' && r.flatAmounts !== null) issue('flatAmounts', 'is only for a flat rule');
    if (r.type === 'flat' && (r.flatAmounts === null || Object.keys(r.flatAmounts).length === 0)) {
      issue('flatAmounts', 'is required for a flat rule: { "usd": 500 } in minor units');
    }
    if (r.type === 'flat' && r.rateBps !== null) issue('rateBps', 'is only for a percentage rule');
    if (r.recurring === 'months' && r.recurringMonths === null)
      issue('recurringMonths', 'is required when recurring is "months"');
    if (r.recurring !== 'months' && r.recurringMonths !== null)
      issue('recurringMonths', 'is only for recurring "months"');
    if (r.rateAfterBps !== null && r.recurring !== 'months') issue('rateAfterBps', 'is only for recurring "months"');
    for (const [currency, min] of Object.entries(r.minAmounts)) {
      const max = r.maxAmounts[currency];
      if (max !== undefined && max < min) issue('maxAmounts', `${currency}: max is below min`);
    }
  });
export type RuleInput = z.input<typeof ruleInput>;

export const listRulesInput = z.object({
  event: z.enum(['sale', 'lead']).optional(),
  includeArchived: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional(),
});

/** The public shape of a rule (a superset of the engine's `CommissionRuleSpec`). */
export interface CommissionRule extends CommissionRuleSpec {
  name: string;
  flatAmounts: Record<string, number> | null;
  minAmounts: Record<string, number>;
  maxAmounts: Record<string, number>;
  createdAt: string;
  updatedAt: string;
  archivedAt: string | null;
}

export function toCommissionRule(r: CommissionRuleRow): CommissionRule {
  return {
    id: r.id,
    name: r.name,
    priority: r.priority,
    event: r.event,
    affiliateId: r.affiliate_id,
    stripeProductId: r.stripe_product_id,
    stripePriceId: r.stripe_price_id,
    type: r.type,
    rateBps: r.rate_bps,
    flatAmounts: r.flat_amounts,
    minAmounts: r.min_amounts,
    maxAmounts: r.max_amounts,
    recurring: r.recurring,
    recurringMonths: r.recurring_months,
    rateAfterBps: r.rate_after_bps,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    archivedAt: r.archived_at?.toISOString() ?? null,
  };
}

/**
 * How long a program's active rules are reused by the commission engine. Every sale needs them and they rarely
 * change: the cache saves a round trip per sale. A change made through this service applies at once in this
 * process (the entry is dropped); other processes see it within this time.
 */
const RULES_TTL_MS = 1_000;
const ruleSpecsCache = new LRUCache<string, { specs: Promise<CommissionRule[]> }>({
  max: 10_000,
  ttl: RULES_TTL_MS,
});

function forgetRules(programId: string): void {
  ruleSpecsCache.delete(`${programId}|sale`);
  ruleSpecsCache.delete(`${programId}|lead`);
}

/**
 * The active rules of a program for one event, in evaluation order (the public shape is the engine's too).
 * Read through a short cache (`RULES_TTL_MS`); a failed read is not cached.
 */
export function loadRuleSpecs(db: DbOrTrx, programId: string, event: 'sale' | 'lead'): Promise<CommissionRule[]> {
  const key = `${programId}|${event}`;
  const hit = ruleSpecsCache.get(key);
  if (hit) return hit.specs;
  const specs = repo.listRules(db, programId, { event }).then((rows) => rows.map(toCommissionRule));
  ruleSpecsCache.set(key, { specs });
  specs.catch(() => ruleSpecsCache.delete(key));
  return specs;
}

/**
 * What a program's rules pay for one conversion: its active rules of the conversion's kind (through the cache of
 * `loadRuleSpecs`) evaluated by `rules.evaluateCommission` with the program's default rate. The one seam between a
 * program and the engine: the conversion path (`createCommissionForConversion`) and the preview both call it.
 * @returns the engine's outcome (amount in minor units of `facts.currency`) and the rules it was given
 */
export async function evaluateProgramRules(
  db: DbOrTrx,
  program: Pick<ProgramRow, 'id' | 'default_rate_bps'>,
  facts: CommissionFacts,
): Promise<{ outcome: CommissionOutcome; rules: CommissionRule[] }> {
  const rules = await loadRuleSpecs(db, program.id, facts.kind);
  return { outcome: evaluateCommission(rules, program.default_rate_bps, facts), rules };
}

/**
 * `POST /api/v1/commission-rules/preview`: a hypothetical conversion. `amount` in minor units excluding tax
 * (required for a sale, ignored for a lead); `productId` / `priceId` the Stripe product / price bought;
 * `affiliateId` the affiliate (none: per-affiliate rules do not match); `recurringMonth` the customer's payment
 * month (1 = their first payment, the default).
 */
export const previewInput = z
  .object({
    kind: z.enum(['sale', 'lead']).default('sale'),
    amount: z.number().int().min(0).max(MAX_MINOR_UNITS).optional(),
    currency: currencyCode,
    productId: stripeRef.optional(),
    priceId: stripeRef.optional(),
    affiliateId: idText.nullable().optional(),
    recurringMonth: z.number().int().min(1).max(1200).default(1),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.kind === 'sale' && p.amount === undefined)
      ctx.addIssue({ code: 'custom', path: ['amount'], message: 'is required for a sale (minor units)' });
  });

/** What the preview answers: the rule that would win (null = program default or nothing), the commission, why. */
export interface CommissionPreview {
  ruleId: string | null;
  ruleName: string | null;
  /** The rate applied, basis points; null for a flat amount or nothing. */
  rateBps: number | null;
  commission: { amount: number; currency: string };
  /** The engine's reason code, as the commission history records it (`rule:<id>`, `program_default`, …). */
  reason: string;
  /** One sentence for people: which rule, what it pays, caps and recurring limits. */
  explanation: string;
}

function explain(outcome: CommissionOutcome, rule: CommissionRule | undefined, facts: CommissionFacts): string {
  const money = (n: number) => formatMoney(n, facts.currency);
  const pct = (bps: number) => `${bps / 100}%`;
  const paid = facts.kind === 'lead' ? 'a lead' : `a sale of ${money(facts.amount)}`;
  if (outcome.reason === 'zero_amount') return `A sale of ${money(0)} earns nothing, whatever the rule.`;
  if (outcome.reason === 'no_lead_rule') return `No lead rule matches ${paid}: a lead earns nothing.`;
  if (!rule)
    return `No rule matches ${paid}: the program default of ${pct(outcome.rateBps ?? 0)} pays ${money(outcome.amount)}.`;
  const named = `Rule "${rule.name}" (priority ${rule.priority})`;
  if (outcome.reason.startsWith('recurring_limit:')) {
    return rule.recurring === 'first_payment'
      ? `${named} matches but pays only the customer's first payment: month ${facts.month} earns nothing.`
      : `${named} matches but pays only months 1–${rule.recurringMonths}: month ${facts.month} earns nothing.`;
  }
  const base =
    outcome.rateBps === null
      ? `pays ${money(outcome.beforeCaps ?? outcome.amount)} flat`
      : `pays ${pct(outcome.rateBps)} = ${money(outcome.beforeCaps ?? outcome.amount)}`;
  const capped =
    outcome.beforeCaps !== undefined && outcome.beforeCaps !== outcome.amount
      ? `, ${outcome.amount > outcome.beforeCaps ? 'raised to its minimum' : 'capped at its maximum'} of ${money(outcome.amount)}`
      : '';
  return `${named} matches ${paid}: it ${base}${capped}.`;
}

type ParsedRule = z.infer<typeof ruleInput>;

function columns(r: ParsedRule) {
  return {
    name: r.name,
    priority: r.priority,
    event: r.event,
    affiliate_id: r.affiliateId,
    stripe_product_id: r.stripeProductId,
    stripe_price_id: r.stripePriceId,
    type: r.type,
    rate_bps: r.rateBps,
    flat_amounts: r.flatAmounts === null ? null : JSON.stringify(r.flatAmounts),
    min_amounts: JSON.stringify(r.minAmounts),
    max_amounts: JSON.stringify(r.maxAmounts),
    recurring: r.recurring,
    recurring_months: r.recurringMonths,
    rate_after_bps: r.rateAfterBps,
  };
}

export function createCommissionRulesService(deps: { db: Db; now?: () => Date }) {
  const { db } = deps;
  const now = deps.now ?? (() => new Date());

  async function assertAffiliate(program: ProgramRow, affiliateId: string | null): Promise<void> {
    if (affiliateId === null) return;
    if (!(await findAffiliate(db, program.id, affiliateId))) {
      throw new UnprocessableError('affiliateId: no such affiliate in this program', 'unknown_affiliate');
    }
  }

  return {
    /**
     * What a conversion would earn (see `previewInput`), by the same rules and engine the Stripe webhooks and the
     * conversions API use (`evaluateProgramRules`). Writes nothing.
     * @throws ValidationError naming the field; UnprocessableError `unknown_affiliate`
     */
    async preview(program: ProgramRow, input: unknown): Promise<CommissionPreview> {
      const p = parseInput(previewInput, input);
      await assertAffiliate(program, p.affiliateId ?? null);
      const facts: CommissionFacts = {
        kind: p.kind,
        // No affiliate: matches no per-affiliate rule (ids are never empty).
        affiliateId: p.affiliateId ?? '',
        amount: p.kind === 'lead' ? 0 : p.amount!,
        currency: p.currency,
        lineItems:
          p.productId || p.priceId ? [{ stripeProductId: p.productId ?? null, stripePriceId: p.priceId ?? null }] : [],
        month: p.kind === 'lead' ? 1 : p.recurringMonth,
        firstPayment: p.kind === 'lead' || p.recurringMonth === 1,
      };
      const { outcome, rules } = await evaluateProgramRules(db, program, facts);
      const rule = rules.find((r) => r.id === outcome.ruleId);
      return {
        ruleId: outcome.ruleId,
        ruleName: rule?.name ?? null,
        rateBps: outcome.amount > 0 ? outcome.rateBps : null,
        commission: { amount: outcome.amount, currency: p.currency },
        reason: outcome.reason,
        explanation: explain(outcome, rule, facts),
      };
    },

    /** Rules in evaluation order. */
    async list(program: ProgramRow, query: unknown): Promise<CommissionRule[]> {
      const q = parseInput(listRulesInput, query);
      return (await repo.listRules(db, program.id, { event: q.event, includeArchived: q.includeArchived })).map(
        toCommissionRule,
      );
    },

    /** @throws NotFoundError */
    async get(program: ProgramRow, id: string): Promise<CommissionRule> {
      const r = await repo.findRule(db, program.id, id);
      if (!r) throw new NotFoundError('Commission rule');
      return toCommissionRule(r);
    },

    /**
     * Create a rule. New commissions use it at once; existing ones keep their amount.
     * @throws ValidationError naming the field; UnprocessableError `unknown_affiliate`
     */
    async create(program: ProgramRow, input: unknown): Promise<CommissionRule> {
      const r = parseInput(ruleInput, input);
      await assertAffiliate(program, r.affiliateId);
      const at = now();
      const row = await repo.insertRule(db, {
        id: newId('rule'),
        program_id: program.id,
        ...columns(r),
        created_at: at,
        updated_at: at,
      });
      forgetRules(program.id);
      return toCommissionRule(row);
    },

    /**
     * Change some fields of an active rule; the result is validated whole (e.g. switching to `flat` needs
     * `flatAmounts` and `rateBps: null`).
     * @throws NotFoundError (also for an archived rule); ValidationError; UnprocessableError `unknown_affiliate`
     */
    async update(program: ProgramRow, id: string, input: unknown): Promise<CommissionRule> {
      const patch = parseInput(z.record(z.string(), z.unknown()), input ?? {});
      const existing = await repo.findRule(db, program.id, id);
      if (!existing || existing.archived_at) throw new NotFoundError('Commission rule');
      const { id: _id, createdAt: _c, updatedAt: _u, archivedAt: _a, ...current } = toCommissionRule(existing);
      const r = parseInput(ruleInput, { ...current, ...patch });
      await assertAffiliate(program, r.affiliateId);
      const row = await repo.updateRule(db, program.id, id, { ...columns(r), updated_at: now() });
      forgetRules(program.id);
      if (!row) throw new NotFoundError('Commission rule');
      return toCommissionRule(row);
    },

    /**
     * Archive a rule: it stops matching; commissions that used it keep pointing at it. Archiving twice is a no-op.
     * @throws NotFoundError
     */
    async archive(program: ProgramRow, id: string): Promise<CommissionRule> {
      const existing = await repo.findRule(db, program.id, id);
      if (!existing) throw new NotFoundError('Commission rule');
      if (existing.archived_at) return toCommissionRule(existing);
      const at = now();
      const row = await repo.updateRule(db, program.id, id, { archived_at: at, updated_at: at });
      forgetRules(program.id);
      return toCommissionRule(row ?? (await repo.findRule(db, program.id, id))!);
    },
  };
}
export type CommissionRulesService = ReturnType<typeof createCommissionRulesService>;
