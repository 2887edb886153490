/**
 * Where a device keeps its place: the sync cursor, the highest seq delivered
 * per conversation, and the events cursor (an opaque string: the client
 * saves the cursor together with the IDs of the events it delivered lately,
 * since the server's event rounds overlap). The client calls the setters only
 * after the events they cover were handed to the listeners, so a persisted
 * State never skips anything. Implementations must be synchronous (e.g. over
 * localStorage or wx.setStorageSync); the default keeps it in memory.
 */
export interface State {
  cursor(): string;
  setCursor(cursor: string): void;
  seq(convID: string): number;
  setSeq(convID: string, seq: number): void;
  eventCursor(): string;
  setEventCursor(cursor: string): void;
}

export class MemoryState implements State {
  private c = '';
  private e = '';
  private seqs = new Map<string, number>();
  cursor() { return this.c; }
  setCursor(cursor: string) { this.c = cursor; }
  seq(convID: string) { return this.seqs.get(convID) ?? 0; }
  setSeq(convID: string, seq: number) { if (seq > this.seq(convID)) this.seqs.set(convID, seq); }
  eventCursor() { return this.e; }
  setEventCursor(cursor: string) { this.e = cursor; }
}

/** A State kept in a synchronous key-value store (localStorage, wx storage) under one key prefix. */
export class StorageState implements State {
  constructor(
    private store: { getItem(k: string): string | null; setItem(k: string, v: string): void },
    private prefix = 'parley:',
  ) {}
  cursor() { return this.store.getItem(this.prefix + 'cursor') ?? ''; }
  setCursor(cursor: string) { this.store.setItem(this.prefix + 'cursor', cursor); }
  seq(convID: string) { return Number(this.store.getItem(this.prefix + 'seq:' + convID) ?? 0) || 0; }
  setSeq(convID: string, seq: number) {
    if (seq > this.seq(convID)) this.store.setItem(this.prefix + 'seq:' + convID, String(seq));
  }
  eventCursor() { return this.store.getItem(this.prefix + 'events') ?? ''; }
  setEventCursor(cursor: string) { this.store.setItem(this.prefix + 'events', cursor); }
}
