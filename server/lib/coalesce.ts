/**
 * Request coalescing for expensive reads that many requests ask at once (a dashboard open in many tabs, a
 * load test): callers asking for the same key while a computation runs share the NEXT computation, which
 * starts after the running one ends. So every answer reflects the database at some moment after the caller
 * asked (read-your-writes holds; nothing is cached), while the database runs at most one computation per key
 * at a time plus one queued.
 */
export function coalesced<K, V>(compute: (key: K) => Promise<V>): (key: K) => Promise<V> {
  const slots = new Map<K, { running: Promise<V> | null; next: Promise<V> | null }>();

  function start(key: K, slot: { running: Promise<V> | null; next: Promise<V> | null }): Promise<V> {
    const p: Promise<V> = compute(key).finally(() => {
      if (slot.running === p) slot.running = null;
      if (!slot.running && !slot.next) slots.delete(key);
    });
    slot.running = p;
    return p;
  }

  return (key) => {
    let slot = slots.get(key);
    if (!slot) {
      slot = { running: null, next: null };
      slots.set(key, slot);
    }
    const running = slot.running;
    if (!running) return start(key, slot);
    if (slot.next) return slot.next;
    const s = slot;
    // Wait for the running computation (whatever its outcome), then start one for everyone who queued.
    const next = running
      .then(
        () => undefined,
        () => undefined,
      )
      .then(() => {
        s.next = null;
        return start(key, s);
      });
    s.next = next;
    return next;
  };
}
