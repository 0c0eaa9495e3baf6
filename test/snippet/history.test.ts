// @vitest-environment happy-dom
import { afterEach, expect, it, vi } from 'vitest';
import { onNavigate } from '../../snippet/src/history.ts';
import { openPage, visitor } from './page.ts';

const browser = visitor();
afterEach(() => vi.unstubAllGlobals());

it('sees pushState, replaceState and popstate navigations, and undo restores the page', () => {
  const window = openPage(browser, 'https://shop.test/');
  const { pushState, replaceState } = window.history;
  const seen: string[] = [];
  const undo = onNavigate(() => seen.push(location.search));

  history.pushState({}, '', '/pricing?ref=alice');
  history.replaceState({}, '', '/pricing?ref=bob');
  window.dispatchEvent(new window.PopStateEvent('popstate'));
  expect(seen).toEqual(['?ref=alice', '?ref=bob', '?ref=bob']);
  expect(location.pathname).toBe('/pricing'); // the router's call still navigates

  undo();
  history.pushState({}, '', '/?ref=carol');
  window.dispatchEvent(new window.PopStateEvent('popstate'));
  expect(seen).toHaveLength(3);
  expect([window.history.pushState, window.history.replaceState]).toEqual([pushState, replaceState]);
});
