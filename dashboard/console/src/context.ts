/** What every console page gets: the API client (admin API + console API), the logged-in user, navigation. */
import type { Api } from '../../src/api.js';
import type { ConsoleMe } from './types.js';

export type { ConsoleMe, Role } from './types.js';

export interface ConsoleContext {
  /** Over `/api/v1` (paths like `/affiliates`, `/console/me`), with the current program's header. */
  api: Api;
  me: ConsoleMe | null;
  /** The program being worked on (one of `me.programs`). */
  program: ConsoleMe['programs'][number] | null;
  navigate(path: string, opts?: { replace?: boolean }): void;
  refreshMe(): Promise<ConsoleMe | null>;
  /** Whether the user may change things in the current program (not a viewer). */
  canWrite(): boolean;
}

export type ConsoleView = (
  ctx: ConsoleContext,
  root: HTMLElement,
  params: Record<string, string>,
) => void | Promise<void>;
