/**
 * Facts that never change once true (an API key's tenant, a video's owner), remembered by the
 * isolate so a request need not ask D1 again: at most `capacity` of them, the oldest forgotten
 * first. Only what cannot become false may be kept here; what can (a key's revocation) is
 * asked of its single writer on every request.
 */
export class IsolateMemo<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(private readonly capacity: number) {}

  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as K);
  }
}
