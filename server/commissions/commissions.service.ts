/**
 * Commissions: what an affiliate earns from a conversion. Lifecycle `pending → approved` (after the
 * program's hold period) `→ paid`, or `rejected`, `reversed`. Amounts are minor units in the sale's currency.
 */
import { z } from 'zod';
import type { Db, DbOrTrx } from '../db/database.ts';
import type { CommissionRow, CommissionStatus, ConversionRow, ProgramRow } from '../db/schema.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import { newId } from '../ids.ts';
import { parseInput } from '../http/input.ts';
import { applyRate } from './money.ts';
import * as repo from './commissions.repository.ts';

const DAY_MS = 86_400_000;

export const listCommissionsInput = z.object({
  status: z.enum(['pending', 'approved', 'paid', 'rejected', 'reversed']).optional(),
  affiliateId: z.string().max(100).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

export const rejectCommissionInput = z.object({ reason: z.string().trim().min(1).max(500).optional() });

export interface Commission {
  id: string;
  affiliateId: string;
  conversionId: string | null;
  amount: number;
  currency: string;
  rateBps: number | null;
  status: CommissionStatus;
  payableAt: string;
  approvedAt: string | null;
  paidAt: string | null;
  payoutId: string | null;
  reason: string | null;
  createdAt: string;
}

export function toCommission(c: CommissionRow): Commission {
  return {
    id: c.id,
    affiliateId: c.affiliate_id,
    conversionId: c.conversion_id,
    amount: c.amount,
    currency: c.currency,
    rateBps: c.rate_bps,
    status: c.status,
    payableAt: c.payable_at.toISOString(),
    approvedAt: c.approved_at?.toISOString() ?? null,
    paidAt: c.paid_at?.toISOString() ?? null,
    payoutId: c.payout_id,
    reason: c.reason,
    createdAt: c.created_at.toISOString(),
  };
}

/**
 * Create the commission a sale conversion earns under the program's default rate, payable after the hold
 * period. Zero amounts earn nothing (returns null). Call inside the transaction that inserted the conversion.
 * A suspended or rejected affiliate's commission is recorded as `rejected` with the reason.
 */
export async function createCommissionForConversion(
  trx: DbOrTrx,
  program: Pick<ProgramRow, 'id' | 'default_rate_bps' | 'hold_days'>,
  conversion: Pick<ConversionRow, 'id' | 'affiliate_id' | 'amount' | 'currency' | 'occurred_at'>,
  affiliateStatus: string,
): Promise<CommissionRow | null> {
  const amount = applyRate(conversion.amount, program.default_rate_bps);
  if (amount <= 0) return null;
  const eligible = affiliateStatus === 'approved';
  return repo.insertCommission(trx, {
    id: newId('com'),
    program_id: program.id,
    affiliate_id: conversion.affiliate_id,
    conversion_id: conversion.id,
    amount,
    currency: conversion.currency,
    rate_bps: program.default_rate_bps,
    status: eligible ? 'pending' : 'rejected',
    reason: eligible ? null : `affiliate_${affiliateStatus}`,
    payable_at: new Date(conversion.occurred_at.getTime() + program.hold_days * DAY_MS),
  });
}

export function createCommissionsService(deps: { db: Db; now?: () => Date }) {
  const { db } = deps;
  const now = deps.now ?? (() => new Date());
  return {
    async list(program: ProgramRow, query: unknown): Promise<Commission[]> {
      const q = parseInput(listCommissionsInput, query);
      return (await repo.listCommissions(db, program.id, q)).map(toCommission);
    },

    /**
     * Approve pending commissions whose hold period has ended (the `approve-commissions` job).
     * @param opts.skipHold approve every pending commission now (demo, manual runs)
     * @returns how many were approved
     */
    approveDue(opts: { programId?: string; skipHold?: boolean } = {}): Promise<number> {
      return repo.approveDue(db, now(), opts);
    },

    /**
     * Merchant decision on one commission: approve (pending → approved, before the hold ends) or reject
     * (pending/approved → rejected). The same decision again is a no-op.
     * @throws NotFoundError; ConflictError `invalid_transition`
     */
    async decide(program: ProgramRow, id: string, decision: 'approve' | 'reject', input: unknown = {}): Promise<Commission> {
      const { reason } = parseInput(rejectCommissionInput, input ?? {});
      const to: CommissionStatus = decision === 'approve' ? 'approved' : 'rejected';
      const allowed: CommissionStatus[] = decision === 'approve' ? ['pending'] : ['pending', 'approved'];
      const row = await db.transaction().execute(async (trx) => {
        const c = await repo.lockCommission(trx, program.id, id);
        if (!c) throw new NotFoundError('Commission');
        if (c.status === to) return c;
        if (!allowed.includes(c.status)) throw new ConflictError(`Cannot ${decision} a ${c.status} commission`, 'invalid_transition');
        return repo.setCommissionStatus(trx, c.id, to, now(), decision === 'reject' ? (reason ?? 'rejected_by_merchant') : undefined);
      });
      return toCommission(row);
    },
  };
}
export type CommissionsService = ReturnType<typeof createCommissionsService>;
