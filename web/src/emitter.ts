// A tiny typed event emitter for the app's own events.
export class Emitter<E extends Record<string, unknown>> {
  private handlers = new Map<keyof E, Set<(v: any) => void>>();

  on<K extends keyof E>(event: K, fn: (v: E[K]) => void): () => void {
    let set = this.handlers.get(event);
    if (!set) this.handlers.set(event, (set = new Set()));
    set.add(fn);
    return () => set.delete(fn);
  }

  emit<K extends keyof E>(event: K, value: E[K]): void {
    for (const fn of this.handlers.get(event) ?? []) {
      try {
        fn(value);
      } catch (err) {
        console.error(`handler of ${String(event)}:`, err);
      }
    }
  }

  clear(): void {
    this.handlers.clear();
  }
}
