/** The Cloudflare account test/support/fake-wrangler.ts keeps in its JSON state file. */
export interface FakeAccount {
  d1: { name: string; uuid: string }[];
  buckets: string[];
  /** Lifecycle rules by bucket, as `r2 bucket lifecycle add` takes them (absent: none yet). */
  lifecycle?: Record<string, { name: string; prefix: string; expireDays: number }[]>;
  queues: string[];
  secrets: string[];
  workerDeployed: boolean;
  /** Every call, in order; `databaseIds` are the production D1 ids of the config it was given. */
  calls: { args: string[]; databaseIds?: string[] }[];
}
