// @vitest-environment happy-dom
/**
 * The Account page's e-mail preferences in happy-dom: one checkbox per kind as the API answers, a change is saved
 * at once with only that kind, and a refused save puts the box back and says so.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError } from '../../dashboard/src/api.ts';
import { renderEmailPreferences } from '../../dashboard/src/views/account.ts';
import type { EmailPreference } from '../../dashboard/src/types.ts';

const prefs: EmailPreference[] = [
  { kind: 'commission_approved', label: 'A commission was approved', subscribed: true },
  { kind: 'payout_sent', label: 'A payout was sent', subscribed: false },
];

afterEach(() => {
  document.body.replaceChildren();
});

const box = (name: string) => document.querySelector(`input[name="${name}"]`) as HTMLInputElement;
const settle = () => new Promise((r) => setTimeout(r, 0));

describe('e-mail preferences', () => {
  it('shows each kind with its state and saves a change at once', async () => {
    const sent: Record<string, boolean>[] = [];
    document.body.append(
      renderEmailPreferences(prefs, async (changes) => {
        sent.push(changes);
        return prefs.map((p) => (p.kind in changes ? { ...p, subscribed: changes[p.kind]! } : p));
      }),
    );
    expect(document.body.textContent).toContain('A commission was approved');
    expect(box('commission_approved').checked).toBe(true);
    expect(box('payout_sent').checked).toBe(false);
    box('payout_sent').click();
    await settle();
    expect(sent).toEqual([{ payout_sent: true }]);
    expect(box('payout_sent').checked).toBe(true);
    expect(document.body.textContent).toContain('Saved.');
  });

  it('a refused save puts the box back and shows why', async () => {
    document.body.append(
      renderEmailPreferences(prefs, async () => {
        throw new ApiError(403, 'csrf_failed', 'Missing or wrong X-CSRF-Token header');
      }),
    );
    box('commission_approved').click();
    await settle();
    expect(box('commission_approved').checked).toBe(true);
    expect(document.body.textContent).toContain('Missing or wrong X-CSRF-Token header');
  });
});
