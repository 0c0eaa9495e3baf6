// @vitest-environment happy-dom
/**
 * Dashboard components in happy-dom: what a partner sees for given API answers (numbers, empty and loading
 * states, errors next to the right field), and that the controls work from the keyboard.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, type Api } from '../../dashboard/src/api.ts';
import type { AppContext } from '../../dashboard/src/context.ts';
import { copyField } from '../../dashboard/src/dom.ts';
import { overviewView, renderOverview, renderStatsTable } from '../../dashboard/src/views/overview.ts';
import { renderCreateLinkForm, renderLinksTable } from '../../dashboard/src/views/links.ts';
import { renderCommissions, renderReferrals } from '../../dashboard/src/views/referrals.ts';
import { renderBalance, renderPayoutHistory, renderPayoutSettingsForm } from '../../dashboard/src/views/payouts.ts';
import type { Commission, Link, Me, Overview, Page, Payouts, Referral, Stats } from '../../dashboard/src/types.ts';

const me: Me = {
  affiliate: {
    id: 'aff_1',
    name: 'Jamie',
    email: 'jamie@creator.test',
    code: 'jamie',
    status: 'approved',
    website: null,
    payoutMethod: 'paypal',
  },
  program: {
    id: 'prg_1',
    name: 'Acme',
    website: 'https://acme.test',
    currency: 'usd',
    minPayoutAmount: 5000,
    defaultRateBps: 1000,
    holdDays: 30,
    cookieDays: 30,
    branding: { logoUrl: null, accentColor: null, accentTextColor: null },
  },
  referralLink: 'https://acme.test/?ref=jamie',
  linkBase: 'https://partners.acme.test/r/',
  csrfToken: 'csrf',
};

const overview: Overview = {
  clicks: 1234,
  leads: 40,
  customers: 25,
  conversions: 27,
  conversionRate: 25 / 1234,
  revenue: [
    { currency: 'eur', amount: 5000 },
    { currency: 'usd', amount: 61_999 },
  ],
  earnings: [
    { currency: 'eur', pending: 500, onHold: 0, approved: 0, clawbacks: 0, inPayouts: 0, paid: 0 },
    { currency: 'usd', pending: 6200, onHold: 1000, approved: 7000, clawbacks: -200, inPayouts: 0, paid: 12_345 },
  ],
  nextPayout: [{ currency: 'usd', amount: 6800, maturing: 6200, minimum: 5000, reachesMinimum: true }],
  nextPayoutDate: '2025-12-01T00:00:00.000Z',
};

afterEach(() => {
  document.body.replaceChildren();
  vi.restoreAllMocks();
});

const mount = <T extends Node>(node: T): T => {
  document.body.appendChild(node);
  return node;
};
const text = (el: Element | null) => el?.textContent?.replace(/\s+/g, ' ').trim() ?? '';
const tileValue = (root: Element, label: string) =>
  text(
    [...root.querySelectorAll('.tile')]
      .find((t) => t.querySelector('.tile-label')?.textContent === label)
      ?.querySelector('.tile-value') ?? null,
  );

describe('overview', () => {
  it('shows the funnel and the money per currency', () => {
    const root = mount(renderOverview(me, overview));
    expect(tileValue(root, 'Clicks')).toBe('1,234');
    expect(tileValue(root, 'Customers')).toBe('25');
    expect(tileValue(root, 'Conversion rate')).toBe('2%');
    expect(tileValue(root, 'Revenue referred')).toBe('€50.00 · $619.99');
    expect(tileValue(root, 'Pending')).toBe('€5.00 · $72.00');
    expect(text(root)).toContain('incl. $10.00 on hold for review');
    // Approved = approved minus outstanding clawbacks: what the next payout takes.
    expect(tileValue(root, 'Approved')).toBe('$68.00');
    expect(tileValue(root, 'Paid')).toBe('$123.45');
    const payout = root.querySelector('[aria-labelledby="next-payout-title"]')!;
    expect(text(payout.querySelector('.big-number'))).toBe('$68.00');
    expect(text(payout)).toContain('Next payout run: Dec 1, 2025');
    expect(text(payout)).toContain('$62.00 more becomes payable within 30 days');
    expect(payout.querySelector('progress')!.getAttribute('value')).toBe('100');
  });

  it('tells how far the minimum is', () => {
    const root = mount(
      renderOverview(me, {
        ...overview,
        nextPayout: [{ currency: 'usd', amount: 1250, maturing: 0, minimum: 5000, reachesMinimum: false }],
      }),
    );
    const payout = root.querySelector('[aria-labelledby="next-payout-title"]')!;
    expect(text(payout)).toContain('Payouts start at $50.00; $37.50 to go.');
    expect(payout.querySelector('progress')!.getAttribute('value')).toBe('25');
    expect(payout.querySelector('progress')!.getAttribute('aria-label')).toBe('25% of the payout minimum');
  });

  it('shows the daily numbers as a table, newest day first', () => {
    const stats: Stats = {
      days: 7,
      timeZone: 'UTC',
      dates: ['2025-03-01', '2025-03-02'],
      clicks: [3, 0],
      sales: [1, 0],
      earnings: [{ currency: 'usd', amounts: [490, 0] }],
    };
    const table = mount(renderStatsTable(stats, 'usd'));
    const rows = [...table.querySelectorAll('tbody tr')].map((r) =>
      [...r.querySelectorAll('td')].map((td) => td.textContent),
    );
    expect(rows).toEqual([
      ['Mar 2', '0', '0', '$0.00'],
      ['Mar 1', '3', '1', '$4.90'],
    ]);
    expect(table.getAttribute('role')).toBe('region');
    expect(table.getAttribute('tabindex')).toBe('0');
  });

  it('shows a loading state, then the numbers, then an empty state without clicks', async () => {
    let answer!: (o: Overview) => void;
    const api = {
      get: (path: string) =>
        path === '/overview' ? new Promise<Overview>((r) => (answer = r)) : new Promise(() => {}),
    } as unknown as Api;
    const root = mount(document.createElement('div'));
    void overviewView({ api, me, navigate() {}, refreshMe: async () => me } as AppContext, root);
    expect(text(root.querySelector('.loading[role="status"]'))).toBe('Loading your numbers…');
    expect(text(root.querySelector('h1'))).toBe('Welcome, Jamie');
    answer({ ...overview, clicks: 0, conversionRate: null });
    await vi.waitFor(() => expect(text(root)).toContain('No clicks yet'));
    expect(tileValue(root, 'Conversion rate')).toBe('—');
    expect((root.querySelector('input.copy-input') as HTMLInputElement).value).toBe('https://acme.test/?ref=jamie');
  });

  it('shows the server’s message when the numbers cannot be loaded', async () => {
    const api = {
      get: (path: string) =>
        path === '/overview'
          ? Promise.reject(new ApiError(503, 'unavailable', 'The database is restarting'))
          : new Promise(() => {}),
    } as unknown as Api;
    const root = mount(document.createElement('div'));
    void overviewView({ api, me, navigate() {}, refreshMe: async () => me } as AppContext, root);
    await vi.waitFor(() => expect(text(root.querySelector('[role="alert"]'))).toBe('The database is restarting'));
  });
});

describe('copy button', () => {
  it('copies the link and says so', async () => {
    const root = mount(copyField('Your referral link', 'https://acme.test/?ref=jamie'));
    const button = root.querySelector('button')!;
    button.focus();
    expect(document.activeElement).toBe(button);
    button.click();
    await vi.waitFor(() => expect(text(root.querySelector('[role="status"]'))).toBe('Copied!'));
    expect(await navigator.clipboard.readText()).toBe('https://acme.test/?ref=jamie');
    expect(root.querySelector('label')!.getAttribute('for')).toBe(root.querySelector('input')!.id);
  });
});

describe('links', () => {
  const link: Link = {
    id: 'lnk_1',
    slug: 'spring',
    url: 'https://partners.acme.test/r/spring',
    destinationUrl: 'https://acme.test/pricing',
    campaign: 'newsletter',
    clicks: 12,
    conversions: 2,
    createdAt: '2025-03-01T10:00:00Z',
  };

  it('lists links with clicks and conversions, or explains what links are for', () => {
    const table = mount(renderLinksTable([link]));
    const cells = [...table.querySelectorAll('tbody td')].map((td) => text(td));
    expect(cells).toEqual([
      'partners.acme.test/r/springCopy',
      'acme.test/pricing',
      'newsletter',
      '12',
      '2',
      'Mar 1, 2025',
    ]);
    expect(table.querySelector('button')!.getAttribute('aria-label')).toBe('Copy https://partners.acme.test/r/spring');
    expect(text(mount(renderLinksTable([])))).toContain('No tracking links yet');
  });

  it('checks the slug before sending, and shows a server error next to the field it names', async () => {
    let calls = 0;
    const form = mount(
      renderCreateLinkForm(
        me,
        () => {},
        async () => {
          calls += 1;
          throw new ApiError(400, 'destination_not_allowed', 'destinationUrl: must be a page of https://acme.test');
        },
      ),
    );
    const slug = form.querySelector('input[name="slug"]') as HTMLInputElement;
    slug.value = 'has space';
    form.dispatchEvent(new Event('submit', { cancelable: true }));
    expect(text(form.querySelector('[role="alert"]'))).toBe('slug: Use letters, digits, - and _ only');
    expect(slug.getAttribute('aria-invalid')).toBe('true');
    expect(document.activeElement).toBe(slug);
    expect(calls).toBe(0);

    slug.value = 'ok-slug';
    (form.querySelector('input[name="destinationUrl"]') as HTMLInputElement).value = 'https://evil.test';
    form.dispatchEvent(new Event('submit', { cancelable: true }));
    await vi.waitFor(() =>
      expect(text(form.querySelector('[role="alert"]'))).toBe('destinationUrl: must be a page of https://acme.test'),
    );
    expect(document.activeElement).toBe(form.querySelector('input[name="destinationUrl"]'));
    expect(slug.hasAttribute('aria-invalid')).toBe(false);
  });

  it('adds the created link and clears the form', async () => {
    const created: Link[] = [];
    const form = mount(
      renderCreateLinkForm(
        me,
        (l) => created.push(l),
        async (body) => ({ ...link, slug: body.slug!, url: `https://partners.acme.test/r/${body.slug}` }),
      ),
    );
    (form.querySelector('input[name="slug"]') as HTMLInputElement).value = 'new-one';
    form.dispatchEvent(new Event('submit', { cancelable: true }));
    await vi.waitFor(() =>
      expect(text(form.querySelector('[role="status"]'))).toBe('Created https://partners.acme.test/r/new-one'),
    );
    expect(created.map((l) => l.slug)).toEqual(['new-one']);
    expect((form.querySelector('input[name="slug"]') as HTMLInputElement).value).toBe('');
    expect((form.querySelector('button[type="submit"]') as HTMLButtonElement).disabled).toBe(false);
  });
});

describe('referrals and commissions', () => {
  it('shows masked customers with their revenue and commission', () => {
    const page: Page<Referral> = {
      total: 1,
      limit: 25,
      offset: 0,
      data: [
        {
          id: 'ref_1',
          status: 'customer',
          customer: 'bi•••@s•••.io',
          since: '2025-03-01T00:00:00Z',
          revenue: [{ currency: 'usd', amount: 60_000 }],
          sales: [
            {
              id: 'cnv_1',
              amount: 60_000,
              currency: 'usd',
              occurredAt: '2025-03-01T00:00:00Z',
              commission: { id: 'com_1', amount: 6000, currency: 'usd', status: 'approved' },
            },
          ],
        },
      ],
    };
    const cells = [...mount(renderReferrals(page, 'usd')).querySelectorAll('td')].map((td) => text(td));
    expect(cells).toEqual(['bi•••@s•••.io', 'Customer', 'Mar 1, 2025', '1', '$600.00', '$60.00']);
    expect(text(mount(renderReferrals({ total: 0, limit: 25, offset: 0, data: [] }, 'usd')))).toContain(
      'No referred customers yet',
    );
  });

  it('shows each commission with rule, amount, status and when it becomes payable', () => {
    const base: Commission = {
      id: 'com_1',
      amount: 6000,
      currency: 'usd',
      kind: 'sale',
      status: 'pending',
      rule: {
        kind: 'sale',
        name: null,
        rateBps: 1000,
        base: { amount: 60_000, currency: 'usd' },
        description: '10% of 600.00 USD',
      },
      customer: 'bi•••@s•••.io',
      saleAt: '2025-03-01T00:00:00Z',
      payableAt: '2025-03-31T00:00:00Z',
      approvedAt: null,
      paidAt: null,
      payoutId: null,
      reason: null,
      createdAt: '2025-03-01T00:00:00Z',
    };
    const clawback: Commission = {
      ...base,
      id: 'com_2',
      amount: -6000,
      kind: 'clawback',
      status: 'on_hold',
      rule: { ...base.rule, kind: 'clawback', description: 'Clawback (refunded sale)' },
    };
    const root = mount(renderCommissions({ total: 2, limit: 25, offset: 0, data: [base, clawback] }));
    const rows = [...root.querySelectorAll('tbody tr')].map((r) => [...r.querySelectorAll('td')].map((td) => text(td)));
    expect(rows).toEqual([
      ['Mar 1, 2025', 'bi•••@s•••.io', '10% of 600.00 USD', '$60.00', 'Pending', 'Mar 31, 2025'],
      ['Mar 1, 2025', 'bi•••@s•••.io', 'Clawback (refunded sale)', '-$60.00', 'On hold', 'Mar 31, 2025'],
    ]);
    expect(root.querySelector('tbody tr:nth-child(2) .negative')).not.toBeNull();
    // Stacked on phones, every cell keeps its column name.
    expect([...root.querySelectorAll('tbody tr:first-child td')].map((td) => td.getAttribute('data-label'))).toEqual([
      'Date',
      'Customer',
      'Rule',
      'Amount',
      'Status',
      'Payable on',
    ]);
  });
});

describe('payouts', () => {
  const payouts: Payouts = {
    total: 1,
    limit: 25,
    offset: 0,
    data: [
      {
        id: 'po_1',
        amount: 6000,
        currency: 'usd',
        status: 'completed',
        method: 'paypal',
        reference: 'PAYPAL-TX-42',
        failureReason: null,
        commissions: 1,
        createdAt: '2025-03-01T00:00:00Z',
        completedAt: '2025-03-02T00:00:00Z',
      },
    ],
    balance: [{ currency: 'usd', amount: 1200, maturing: 0, minimum: 5000, reachesMinimum: false }],
    minimum: { amount: 5000, currency: 'usd' },
    nextPayoutDate: '2025-04-01T00:00:00Z',
    payoutMethod: { method: 'paypal', summary: 'PayPal jamie@paypal.test' },
    openPayouts: 0,
    canRequest: false,
  };

  it('lists payouts with method, reference and status', () => {
    const cells = [...mount(renderPayoutHistory(payouts)).querySelectorAll('td')].map((td) => text(td));
    expect(cells).toEqual([
      'Mar 1, 2025',
      '$60.00',
      'PayPal',
      'PAYPAL-TX-42',
      'Completed',
      'Mar 2, 2025',
      'CSV · Print',
    ]);
    expect(text(mount(renderPayoutHistory({ ...payouts, total: 0, data: [] })))).toContain('No payouts yet');
  });

  it('disables the request below the minimum and says why', () => {
    const root = mount(renderBalance(payouts, async () => {}));
    const button = root.querySelector('button')!;
    expect(button.disabled).toBe(true);
    expect(text(root.querySelector(`#${button.getAttribute('aria-describedby')}`))).toBe(
      'Payouts start at $50.00; you have $12.00 approved.',
    );
    expect(text(root)).toContain('Next payout run: Apr 1, 2025');
  });

  it('requests a payout when allowed, and shows the refusal the server gives', async () => {
    const ready = {
      ...payouts,
      canRequest: true,
      balance: [{ currency: 'usd', amount: 6000, maturing: 0, minimum: 5000, reachesMinimum: true }],
    };
    const root = mount(
      renderBalance(ready, async () =>
        Promise.reject(
          new ApiError(422, 'no_payout_details', 'The affiliate has no details on file for this payout method'),
        ),
      ),
    );
    const button = root.querySelector('button')!;
    expect(button.disabled).toBe(false);
    button.click();
    await vi.waitFor(() =>
      expect(text(root.querySelector('[role="alert"]'))).toBe(
        'The affiliate has no details on file for this payout method',
      ),
    );
    expect(button.disabled).toBe(false);
  });

  it('shows only the chosen method’s fields and sends only them, with the password', async () => {
    let sent: unknown = null;
    const form = mount(
      renderPayoutSettingsForm(
        { method: 'paypal', details: { email: 'old@paypal.test' }, summary: 'PayPal old@paypal.test', updatedAt: null },
        async (body) => {
          sent = body;
          return { method: body.method, details: body.details, summary: 'Bank transfer •••• 3000', updatedAt: null };
        },
      ),
    );
    const visible = () =>
      [...form.querySelectorAll('input:not([type="radio"])')]
        .filter((i) => !i.closest('[hidden]'))
        .map((i) => (i as HTMLInputElement).name);
    expect(visible()).toEqual(['email', 'password']);
    expect((form.querySelector('input[name="email"]') as HTMLInputElement).value).toBe('old@paypal.test');
    const bank = form.querySelector('input[type="radio"][value="bank_transfer"]') as HTMLInputElement;
    bank.checked = true;
    bank.dispatchEvent(new Event('change'));
    expect(visible()).toEqual([
      'accountHolder',
      'iban',
      'bic',
      'accountNumber',
      'routingNumber',
      'bankName',
      'country',
      'password',
    ]);

    form.dispatchEvent(new Event('submit', { cancelable: true }));
    expect(text(form.querySelector('[role="alert"]'))).toBe('password: Enter your password to confirm');
    expect(document.activeElement).toBe(form.querySelector('input[name="password"]'));

    (form.querySelector('input[name="accountHolder"]') as HTMLInputElement).value = 'Jamie Creator';
    (form.querySelector('input[name="iban"]') as HTMLInputElement).value = 'DE89 3704 0044 0532 0130 00';
    (form.querySelector('input[name="country"]') as HTMLInputElement).value = 'DE';
    (form.querySelector('input[name="password"]') as HTMLInputElement).value = 'my password';
    form.dispatchEvent(new Event('submit', { cancelable: true }));
    await vi.waitFor(() =>
      expect(text(form.querySelector('[role="status"]'))).toBe('Saved. Payouts go to Bank transfer •••• 3000.'),
    );
    expect(sent).toEqual({
      method: 'bank_transfer',
      details: { accountHolder: 'Jamie Creator', iban: 'DE89 3704 0044 0532 0130 00', country: 'DE' },
      password: 'my password',
    });
    expect((form.querySelector('input[name="password"]') as HTMLInputElement).value).toBe('');
  });
});
