/**
 * Calls `listener` after every SPA navigation: `history.pushState`/`replaceState` (wrapped, since
 * they fire no event) and `popstate`. Returns an undo function that restores the original methods
 * and removes the listener. `listener` must not throw (it runs inside the router's call).
 */
export const onNavigate = (listener: () => void): (() => void) => {
  const undo = (['pushState', 'replaceState'] as const).map((name) => {
    const original = history[name];
    history[name] = function (this: History) {
      original.apply(this, arguments as any);
      listener();
    };
    return () => (history[name] = original);
  });
  addEventListener('popstate', listener);
  return () => {
    undo.map((restore) => restore());
    removeEventListener('popstate', listener);
  };
};
