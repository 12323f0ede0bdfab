/**
 * R2 failing a read or write that a request needs: an outage the caller may try again shortly
 * (api/routes.ts answers 503 with Retry-After, as for D1), not a fault of the request. Only what
 * the binding itself throws is wrapped: what the Worker then does with an object stays its own.
 */
export class StorageUnavailable extends Error {
  constructor(operation: string, cause: unknown) {
    super(`R2 ${operation} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = "StorageUnavailable";
  }
}

/** `work`, a call of the R2 binding, with its failure as a StorageUnavailable. */
export async function fromBucket<T>(operation: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw new StorageUnavailable(operation, error);
  }
}
