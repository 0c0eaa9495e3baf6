// @vitest-environment happy-dom
/**
 * The payouts page's statement links, yearly earnings and "Get paid with Stripe" card, and the Account page's tax
 * form, in happy-dom: what a partner sees for given API answers and what the forms send.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../../dashboard/src/api.ts';
import { renderTaxInfoForm } from '../../dashboard/src/views/account.ts';
import { renderStripeConnectCard, renderYearEarnings, statementLinks } from '../../dashboard/src/views/payouts.ts';
import type { StripeConnectStatus, TaxInfo } from '../../dashboard/src/types.ts';

const mount = <T extends Node>(node: T): T => {
  document.body.appendChild(node);
  return node;
};
const text = (el: Element | null) => el?.textContent?.replace(/\s+/g, ' ').trim() ?? '';
const fill = (root: Element, name: string, value: string) => {
  (root.querySelector(`input[name="${name}"]`) as HTMLInputElement).value = value;
};
afterEach(() => document.body.replaceChildren());

describe('statements and yearly earnings', () => {
  it('links a payout to its CSV and printable statement', () => {
    const links = [...mount(statementLinks('po_abc')).querySelectorAll('a')];
    expect(links.map((a) => [text(a), a.getAttribute('href')])).toEqual([
      ['CSV', '/api/v1/partner/payouts/po_abc/statement.csv'],
      ['Print', '/api/v1/partner/payouts/po_abc/statement.html'],
    ]);
    expect(links[1]!.getAttribute('target')).toBe('_blank');
  });

  it('shows paid and not yet paid per currency, and asks for another year', () => {
    const onYear = vi.fn();
    const root = mount(
      renderYearEarnings(
        {
          year: new Date().getUTCFullYear(),
          data: [{ currency: 'usd', paid: 12_345, payouts: 2, pending: 500, approved: 1000 }],
        },
        onYear,
      ),
    );
    expect([...root.querySelectorAll('td')].map(text)).toEqual(['USD', '$123.45', '2', '$10.00', '$5.00']);
    const select = root.querySelector('select')!;
    select.value = String(new Date().getUTCFullYear() - 1);
    select.dispatchEvent(new Event('change'));
    expect(onYear).toHaveBeenCalledWith(new Date().getUTCFullYear() - 1);
  });
});

describe('Get paid with Stripe', () => {
  const none: StripeConnectStatus = {
    status: 'none',
    available: true,
    accountId: null,
    country: null,
    requirementsDue: [],
  };

  it('asks for the country and the password, then sends the partner to Stripe', async () => {
    const onboard = vi.fn(async () => 'https://connect.stripe.com/setup/e/acct_1/abc');
    const assign = vi.fn();
    vi.spyOn(window.location, 'assign').mockImplementation(assign);
    const root = mount(renderStripeConnectCard(none, onboard));
    expect(text(root.querySelector('.connect-status'))).toContain('Not set up');
    const form = root.querySelector('form')!;
    fill(form, 'country', 'de');
    form.dispatchEvent(new Event('submit'));
    expect(text(form.querySelector('.form-status'))).toContain('password');
    fill(form, 'password', 'secret password');
    form.dispatchEvent(new Event('submit'));
    await vi.waitFor(() => expect(assign).toHaveBeenCalledWith('https://connect.stripe.com/setup/e/acct_1/abc'));
    expect(onboard).toHaveBeenCalledWith({ country: 'de', password: 'secret password' });
  });

  it('says what Stripe still needs, and offers no form when ready', () => {
    const needs = mount(
      renderStripeConnectCard(
        {
          ...none,
          status: 'needs_information',
          accountId: 'acct_1',
          country: 'DE',
          requirementsDue: ['external_account'],
        },
        async () => '',
      ),
    );
    expect(text(needs)).toContain('Stripe needs more information');
    expect(text(needs)).toContain('external account');
    expect(needs.querySelector('input[name="country"]')).toBeNull();
    expect(text(needs.querySelector('button'))).toBe('Continue on Stripe');
    const ready = mount(renderStripeConnectCard({ ...none, status: 'ready', accountId: 'acct_1' }, async () => ''));
    expect(text(ready)).toContain('Ready');
    expect(ready.querySelector('form')).toBeNull();
  });
});

describe('tax details form', () => {
  const empty: TaxInfo = { legalName: null, country: null, taxId: null, updatedAt: null };

  it('sends legal name, country, tax id and password; shows only the masked tax id afterwards', async () => {
    const save = vi.fn(async () => ({
      legalName: 'Jamie LLC',
      country: 'US',
      taxId: '•••• 6789',
      updatedAt: '2026-01-01T00:00:00Z',
    }));
    const form = mount(renderTaxInfoForm(empty, save));
    expect(text(form.querySelector('.tax-on-file'))).toBe('No tax details on file yet.');
    fill(form, 'legalName', 'Jamie LLC');
    fill(form, 'country', 'USA');
    form.dispatchEvent(new Event('submit'));
    expect(text(form.querySelector('.form-status'))).toContain('two-letter');
    expect(save).not.toHaveBeenCalled();
    fill(form, 'country', 'us');
    fill(form, 'taxId', '12-3456789');
    fill(form, 'password', 'my password');
    form.dispatchEvent(new Event('submit'));
    await vi.waitFor(() => expect(text(form.querySelector('.form-status'))).toBe('Saved. Tax ID on file: •••• 6789.'));
    expect(save).toHaveBeenCalledWith({
      legalName: 'Jamie LLC',
      country: 'us',
      taxId: '12-3456789',
      password: 'my password',
    });
    expect((form.querySelector('input[name="taxId"]') as HTMLInputElement).value).toBe('');
    expect(text(form.querySelector('.tax-on-file'))).toBe('On file: Jamie LLC (US), tax ID •••• 6789.');
  });

  it('shows the server’s refusal next to the form', async () => {
    const save = vi.fn(async () => {
      throw new ApiError(401, 'invalid_credentials', 'The password is wrong');
    });
    const form = mount(renderTaxInfoForm(empty, save));
    for (const [k, v] of Object.entries({ legalName: 'J', country: 'US', taxId: '1234', password: 'x' }))
      fill(form, k, v);
    form.dispatchEvent(new Event('submit'));
    await vi.waitFor(() => expect(text(form.querySelector('[role="alert"]'))).toBe('The password is wrong'));
  });
});
