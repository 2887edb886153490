export class MemoryState {
    constructor() {
        this.c = '';
        this.e = '';
        this.seqs = new Map();
    }
    cursor() { return this.c; }
    setCursor(cursor) { this.c = cursor; }
    seq(convID) { return this.seqs.get(convID) ?? 0; }
    setSeq(convID, seq) { if (seq > this.seq(convID))
        this.seqs.set(convID, seq); }
    eventCursor() { return this.e; }
    setEventCursor(cursor) { this.e = cursor; }
}
/** A State kept in a synchronous key-value store (localStorage, wx storage) under one key prefix. */
export class StorageState {
    constructor(store, prefix = 'parley:') {
        this.store = store;
        this.prefix = prefix;
    }
    cursor() { return this.store.getItem(this.prefix + 'cursor') ?? ''; }
    setCursor(cursor) { this.store.setItem(this.prefix + 'cursor', cursor); }
    seq(convID) { return Number(this.store.getItem(this.prefix + 'seq:' + convID) ?? 0) || 0; }
    setSeq(convID, seq) {
        if (seq > this.seq(convID))
            this.store.setItem(this.prefix + 'seq:' + convID, String(seq));
    }
    eventCursor() { return this.store.getItem(this.prefix + 'events') ?? ''; }
    setEventCursor(cursor) { this.store.setItem(this.prefix + 'events', cursor); }
}
