import { WorkerEntrypoint } from "cloudflare:workers";
import { runScheduledLocally } from "../scheduled.ts";
import { app } from "./routes.ts";
import { isWorkerFirst, LOCAL_SCHEDULED_PATH } from "./worker-first.ts";

/**
 * The local stack's HTTP front (scripts/worker-host.ts points its port here): the routing of
 * Cloudflare's static assets' router for wrangler.toml's `run_worker_first`, done in the
 * Worker's own isolate. A path the Worker answers first goes to the app; any other GET or HEAD
 * is a static asset when one matches (`ASSETS`, which applies the assets' html handling), else
 * the app's, as the router invokes the Worker when no asset matches.
 *
 * Why: on Cloudflare the router runs outside the Worker's isolate. Locally Miniflare runs it
 * (with an RPC proxy in front of it) as two more isolates on workerd's one thread, the thread
 * the Worker and every Durable Object share: under the load bench they were 39 % of the
 * JavaScript samples on that thread (3888 of 10065; the router compiles its glob rules again
 * for every request), each with garbage collections of its own. Unused in production, where the
 * default export serves behind the router.
 */
export class LocalFront extends WorkerEntrypoint<Env> {
  override async fetch(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    // Miniflare's trigger of the scheduled handler, which its entry Worker (bypassed here) would serve.
    if (path === LOCAL_SCHEDULED_PATH) return runScheduledLocally(request, this.env);
    if ((request.method === "GET" || request.method === "HEAD") && !isWorkerFirst(path)) {
      const asset = await this.env.ASSETS.fetch(request);
      if (asset.status !== 404) return asset;
    }
    return app.fetch(request, this.env, this.ctx);
  }
}
