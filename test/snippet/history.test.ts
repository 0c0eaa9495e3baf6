// @vitest-environment happy-dom
import { afterEach, expect, it, vi } from 'vitest';
import { onNavigate } from '../../snippet/src/history.ts';
import { openPage, visitor } from './page.ts';

const browser = visitor();
afterEach(() => vi.unstubAllGlobals());

it('sees pushState, replaceState and popstate navigations, and the router’s call still navigates', () => {
  openPage(browser, 'https://shop.test/');
  const seen: string[] = [];
  onNavigate(() => seen.push(location.search));

  history.pushState({}, '', '/pricing?ref=alice');
  history.replaceState({}, '', '/pricing?ref=bob');
  window.dispatchEvent(new window.PopStateEvent('popstate'));
  expect(seen).toEqual(['?ref=alice', '?ref=bob', '?ref=bob']);
  expect(location.pathname).toBe('/pricing');
  expect(history.length).toBe(2); // pushState pushed, replaceState replaced
});
