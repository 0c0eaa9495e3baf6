/**
 * Calls `listener` after every SPA navigation: `history.pushState`/`replaceState` (wrapped, since
 * they fire no event) and `popstate`. Stays installed for the page's life (the snippet never uninstalls,
 * and an undo would cost bytes on every merchant page). `listener` must not throw (it runs inside the router's call).
 */
export const onNavigate = (listener: () => void): void => {
  (['pushState', 'replaceState'] as const).map((name) => {
    const original = history[name];
    history[name] = (...args: Parameters<History['pushState']>) => {
      original.apply(history, args);
      listener();
    };
  });
  addEventListener('popstate', listener);
};
