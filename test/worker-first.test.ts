import { join } from "node:path";
import { unstable_readConfig } from "wrangler";
import { describe, expect, it } from "vitest";
import { isWorkerFirst, WORKER_FIRST } from "../worker/api/worker-first.ts";

const ROOT = join(import.meta.dirname, "..");

describe("the Worker-first paths", () => {
  it("are wrangler.toml's run_worker_first, which the router applies on Cloudflare", () => {
    const config = unstable_readConfig({ config: join(ROOT, "wrangler.toml") });
    expect(config.assets?.run_worker_first).toEqual([...WORKER_FIRST]);
  });

  it("match as the router's globs do: `*` spans folders, everything else literally", () => {
    for (const path of ["/api/status/v_1", "/api/videos/v_1/assets/a.png", "/media/a/b/c.mp4", "/webhooks/replicate", "/admin/keys", "/health", "/openapi.json", "/docs"]) expect(isWorkerFirst(path), path).toBe(true);
    for (const path of ["/", "/index.html", "/app.js", "/api", "/healthz", "/docs/", "/openapiXjson", "/x/api/status"]) expect(isWorkerFirst(path), path).toBe(false);
  });
});
