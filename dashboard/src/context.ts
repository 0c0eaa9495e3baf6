/** What every view gets: the API client, the logged-in partner, and navigation. */
import type { Api } from './api.js';
import type { Me } from './types.js';

export interface AppContext {
  api: Api;
  /** The logged-in partner (null on public pages). */
  me: Me | null;
  /** Go to a dashboard path (`/partner/links`), adding a history entry unless `replace`. */
  navigate(path: string, opts?: { replace?: boolean }): void;
  /** Reload `/me` (after login, or a settings change) and redraw the page. */
  refreshMe(): Promise<Me | null>;
}

/** A page: draws itself into `root` (loading state first, then data or an error). */
export type View = (ctx: AppContext, root: HTMLElement, params: Record<string, string>) => void | Promise<void>;
