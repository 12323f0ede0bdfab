import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from "miniflare";
import { withdrawDeadEntries, withSharedStorage } from "./shared-storage.ts";

/**
 * The local stack's storage: the R2 bucket and the D1 database of a state directory, in a
 * workerd process of their own, as on Cloudflare, where R2 and D1 are services beside the
 * Worker and never run on its thread.
 *
 * Why: in one workerd process, one thread runs the Worker, its Durable Objects, the queue
 * consumer and Miniflare's R2 and D1 simulations. Every media byte media-node and the draft
 * model server read or wrote passed through that thread (the Worker's signed `/media` route,
 * then R2's simulation hashing each upload in JavaScript), and status requests waited behind
 * it: under the load bench, its longest stretches were R2 uploads (48-67 ms each).
 *
 * How: Miniflare's shared storage (`unsafeEnableSharedStorage`). Every Miniflare instance with
 * the same persistence directory and dev registry serves its R2 and D1 bindings from one owner,
 * the instance registered first; the Worker's host (scripts/worker-host.ts) starts its Worker
 * only once this host is registered, so this host is that owner, and the Worker reaches the
 * bucket and the database through it. This host also serves R2's S3 API for the bucket (Miniflare's local S3 endpoint,
 * `/cdn-cgi/local/r2/s3/<bucket>/<key>`, path-style, SigV4 with the credentials given here):
 * the Worker hands media-node and the draft server presigned URLs to it, production's path
 * (worker/media/media-urls.ts), so their bytes never reach the Worker's process.
 *
 * Arguments: --port (the S3 endpoint's), --persist-to (the state directory, as worker-host.ts),
 * --bucket (R2's bucket name, wrangler.toml's). The S3 credentials come in
 * the environment (`R2_ACCESS_KEY_ID`, `R2_SECRET_ACCESS_KEY`), never on a command line.
 */

const { values } = parseArgs({
  options: {
    port: { type: "string" },
    "persist-to": { type: "string" },
    bucket: { type: "string" },
  },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port <= 0) throw new Error("--port is required");
if (!values["persist-to"] || !values.bucket) throw new Error("--persist-to and --bucket are required");
const accessKeyId = process.env.R2_ACCESS_KEY_ID;
const secretAccessKey = process.env.R2_SECRET_ACCESS_KEY;
if (!accessKeyId || !secretAccessKey) throw new Error("R2_ACCESS_KEY_ID and R2_SECRET_ACCESS_KEY are required in the environment");

const persistTo = resolve(values["persist-to"]);
// A crashed predecessor's entries would still be elected for 10 s (shared-storage.ts).
await withdrawDeadEntries(persistTo);
const mf = new Miniflare(withSharedStorage(convertV4MiniflareOptions({
  host: "127.0.0.1",
  port,
  cf: false,
  logRequests: false,
  log: new Log(LogLevel.WARN),
  // Miniflare runs at least one Worker; this one only holds the bucket's binding (with its S3
  // credentials) and answers anything outside the S3 endpoint with a 404.
  workers: [{
    name: "adreel-storage",
    modules: true,
    script: `export default { fetch() { return new Response("not found", { status: 404 }); } };`,
    r2Buckets: { MEDIA: { id: values.bucket, s3Credentials: { accessKeyId, secretAccessKey } } },
  }],
}), persistTo));
await mf.ready;
process.stdout.write(`adreel storage ready on http://127.0.0.1:${port}\n`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void mf.dispose().finally(() => process.exit(0));
  });
}
