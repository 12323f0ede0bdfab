/**
 * Facts that never change once true (an API key's tenant, a video's owner), remembered by the
 * isolate so a request need not ask D1 again: at most `capacity` of them, the oldest forgotten
 * first. Only what cannot become false may be kept here as a fact; what can (a key's
 * revocation) is asked of its single writer, on every request or within a lease's life
 * (leases.ts keeps its leases here: forgetting one only leaves requests unspent).
 */
export class IsolateMemo<K, V> {
  private readonly entries = new Map<K, V>();
  private readonly capacity: number;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as K);
  }
}

/**
 * A Durable Object's id by name, derived once per isolate: `idFromName` hashes the name on
 * every call, and a poller names the same objects (its key's limiter, its video's run) on
 * every request. Ids are plain values, not bound to the request that made them.
 */
const objectIds = new WeakMap<object, IsolateMemo<string, DurableObjectId>>();

export function objectIdOf(namespace: Pick<DurableObjectNamespace, "idFromName">, name: string): DurableObjectId {
  let ids = objectIds.get(namespace);
  if (!ids) objectIds.set(namespace, (ids = new IsolateMemo(10_000)));
  let id = ids.get(name);
  if (!id) ids.set(name, (id = namespace.idFromName(name)));
  return id;
}
