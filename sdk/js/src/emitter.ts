/** A small typed event emitter: `on(name, fn)` returns a function that removes the listener. */
export class Emitter<M extends { [K in keyof M]: (...args: any[]) => void }> {
  private listeners: { [K in keyof M]?: M[K][] } = {};
  /** Called when a listener throws; the default logs to console.error. */
  onListenerError: (err: unknown) => void = (err) => console.error('parley: event listener threw', err);

  on<K extends keyof M>(name: K, fn: M[K]): () => void {
    (this.listeners[name] ??= []).push(fn);
    return () => this.off(name, fn);
  }

  once<K extends keyof M>(name: K, fn: M[K]): () => void {
    const wrap = ((...args: any[]) => {
      this.off(name, wrap);
      fn(...args);
    }) as M[K];
    return this.on(name, wrap);
  }

  off<K extends keyof M>(name: K, fn: M[K]): void {
    const l = this.listeners[name];
    if (!l) return;
    const i = l.indexOf(fn);
    if (i >= 0) l.splice(i, 1);
  }

  protected emit<K extends keyof M>(name: K, ...args: Parameters<M[K]>): void {
    for (const fn of (this.listeners[name] ?? []).slice()) {
      try {
        fn(...args);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }
}
