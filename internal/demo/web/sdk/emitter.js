/** A small typed event emitter: `on(name, fn)` returns a function that removes the listener. */
export class Emitter {
    constructor() {
        this.listeners = {};
        /** Called when a listener throws; the default logs to console.error. */
        this.onListenerError = (err) => console.error('parley: event listener threw', err);
    }
    on(name, fn) {
        var _a;
        ((_a = this.listeners)[name] ?? (_a[name] = [])).push(fn);
        return () => this.off(name, fn);
    }
    once(name, fn) {
        const wrap = ((...args) => {
            this.off(name, wrap);
            fn(...args);
        });
        return this.on(name, wrap);
    }
    off(name, fn) {
        const l = this.listeners[name];
        if (!l)
            return;
        const i = l.indexOf(fn);
        if (i >= 0)
            l.splice(i, 1);
    }
    emit(name, ...args) {
        for (const fn of (this.listeners[name] ?? []).slice()) {
            try {
                fn(...args);
            }
            catch (err) {
                this.onListenerError(err);
            }
        }
    }
}
