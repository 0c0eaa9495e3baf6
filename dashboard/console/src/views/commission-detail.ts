/**
 * `/app/commissions/:id`: one commission (`GET /api/v1/commissions/:id`): its facts and why it is held, the rule
 * that set its amount, the conversion it was earned on, the sale's Stripe objects linked to the Stripe Dashboard
 * (test mode for test events), and its whole history; approve or reject it when it is still open.
 */
import type { z } from 'zod';
import { badge, h, loading, table } from '../../../src/dom.js';
import { formatBps, formatDate, formatMoney } from '../../../src/format.js';
import type { commissionResponses } from '../../../../server/commissions/commissions.schemas.ts';
import type { ConsoleView } from '../context.js';
import { decidable, decisionButton, holdText } from './commissions.js';
import { affiliateCell, affiliateNames } from './shared.js';

type Detail = z.output<typeof commissionResponses.detail>['commission'];

/** Names of the Stripe objects, as the Dashboard calls them. */
const STRIPE_LABELS: Record<Detail['stripe']['objects'][number]['kind'], string> = {
  payment_intent: 'Payment',
  charge: 'Charge',
  invoice: 'Invoice',
  checkout_session: 'Checkout Session',
  customer: 'Customer',
  subscription: 'Subscription',
  dispute: 'Dispute',
  event: 'Event',
};

const dateTime = (iso: string) => new Date(iso).toLocaleString();

/** A definition list of the facts that have a value. */
function facts(pairs: [string, Node | string | null | undefined][]) {
  return h(
    'dl',
    { class: 'facts' },
    pairs
      .filter(([, v]) => v !== null && v !== undefined && v !== '')
      .map(([k, v]) => [h('dt', null, k), h('dd', null, v)]),
  );
}

function ruleText(c: Detail): string {
  const r = c.rule;
  if (!r) return c.rateBps !== null ? `Program default rate (${formatBps(c.rateBps)})` : 'Program default rate';
  const amount =
    r.type === 'percentage'
      ? formatBps(r.rateBps ?? 0)
      : Object.entries(r.flatAmounts ?? {})
          .map(([cur, a]) => formatMoney(a, cur))
          .join(' · ');
  return `${r.name}: ${amount}${r.type === 'flat' ? ' flat' : ''}, priority ${r.priority}${r.archivedAt ? ' (archived)' : ''}`;
}

export const commissionDetailView: ConsoleView = async (ctx, root, params) => {
  const slot = h('div', { 'aria-live': 'polite' });
  const title = h('h1', { tabindex: '-1' }, 'Commission');
  const body = h('div', { class: 'stack' }, loading());
  root.replaceChildren(
    h('p', null, h('a', { href: '/app/commissions', 'data-link': '' }, '← All commissions')),
    h('div', { class: 'page-head' }, title),
    slot,
    body,
  );
  const draw = async () => {
    const { commission: c } = await ctx.api.get<z.output<typeof commissionResponses.detail>>(
      `/commissions/${encodeURIComponent(params.id ?? '')}`,
    );
    const names = await affiliateNames(ctx, [c.affiliateId]);
    const money = formatMoney(c.amount, c.currency);
    const button = (label: string, action: 'approve' | 'reject', cls: string) =>
      decisionButton(ctx, slot, c.id, action, label, `btn ${cls}`, draw);
    const conv = c.conversion;
    const test = c.stripe.livemode === false;
    title.textContent = `Commission of ${money}`;
    body.replaceChildren(
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'c-h' },
        h('h2', { id: 'c-h' }, 'Commission'),
        facts([
          ['Status', badge(c.status)],
          ['Held because', c.holdReason ? holdText(c.holdReason) : null],
          ['Affiliate', affiliateCell(names, c.affiliateId)],
          ['Amount', money],
          ['Kind', c.kind === 'recurring' && c.paymentMonth ? `recurring (month ${c.paymentMonth})` : c.kind],
          ['Created', dateTime(c.createdAt)],
          ['Payable from', formatDate(c.payableAt)],
          ['Approved', c.approvedAt ? dateTime(c.approvedAt) : null],
          ['Paid', c.paidAt ? dateTime(c.paidAt) : null],
          ['Payout', c.payoutId ? h('span', { class: 'mono' }, c.payoutId) : null],
          ['Reason', c.reason],
          ['Id', h('span', { class: 'mono' }, c.id)],
        ]),
        ctx.canWrite() && decidable(c)
          ? h(
              'div',
              { class: 'row' },
              button('Approve', 'approve', 'btn-primary'),
              button('Reject', 'reject', 'btn-secondary'),
            )
          : null,
      ),
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'r-h' },
        h('h2', { id: 'r-h' }, 'Rule'),
        facts([
          ['Rule', ruleText(c)],
          [
            'Note',
            c.ruleReason === 'line_items_unavailable'
              ? 'The sale’s line items could not be read (no restricted key), so product and price rules could not match.'
              : c.ruleReason === 'per_line_items'
                ? 'Each line of the sale matched its own rule.'
                : null,
          ],
        ]),
      ),
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'v-h' },
        h('h2', { id: 'v-h' }, 'Conversion'),
        conv
          ? facts([
              ['Sale', formatMoney(conv.amount, conv.currency)],
              ['When', dateTime(conv.occurredAt)],
              ['Source', conv.source === 'stripe' ? 'Stripe' : 'Admin API'],
              ['Payment', conv.sequence > 1 ? `payment ${conv.sequence} of a subscription` : 'first payment'],
              ['Attributed by', conv.attributedBy?.replace(/_/g, ' ')],
              ['Refunded', conv.refundedAmount ? formatMoney(conv.refundedAmount, conv.currency) : null],
              ['Dispute', conv.disputeStatus],
              ['External id', conv.externalId],
              ['Id', h('span', { class: 'mono' }, conv.id)],
            ])
          : h('p', { class: 'muted' }, 'Not tied to a conversion (a credit given back after a clawback).'),
      ),
      c.stripe.objects.length
        ? h(
            'section',
            { class: 'card', 'aria-labelledby': 's-h' },
            h('h2', { id: 's-h' }, test ? 'Stripe (test mode)' : 'Stripe'),
            facts(
              c.stripe.objects.map((o) => [
                STRIPE_LABELS[o.kind],
                o.dashboardUrl
                  ? h(
                      'a',
                      {
                        class: 'mono',
                        href: o.dashboardUrl,
                        target: '_blank',
                        rel: 'noopener noreferrer',
                        'aria-label': `${STRIPE_LABELS[o.kind]} ${o.id} in the Stripe Dashboard${test ? ' (test mode)' : ''}`,
                      },
                      o.id,
                    )
                  : h('span', { class: 'mono' }, o.id),
              ]),
            ),
          )
        : '',
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'e-h' },
        h('h2', { id: 'e-h' }, 'History'),
        table(
          'History',
          [
            { label: 'When' },
            { label: 'Change' },
            { label: 'Amount', numeric: true },
            { label: 'By' },
            { label: 'Why', className: 'wrap-anywhere' },
          ],
          c.events.map((e) => [
            dateTime(e.at),
            e.from ? h('span', null, badge(e.from), ' → ', badge(e.to)) : h('span', null, 'created ', badge(e.to)),
            formatMoney(e.amount, c.currency),
            e.actor,
            e.reason ?? '',
          ]),
        ),
      ),
    );
  };
  await draw();
};
