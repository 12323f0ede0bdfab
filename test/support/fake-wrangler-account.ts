/** The Cloudflare account test/support/fake-wrangler.ts keeps in its JSON state file. */
export interface FakeAccount {
  d1: { name: string; uuid: string }[];
  buckets: string[];
  queues: string[];
  secrets: string[];
  workerDeployed: boolean;
  /** Every call, in order; `databaseIds` are the production D1 ids of the config it was given. */
  calls: { args: string[]; databaseIds?: string[] }[];
}
