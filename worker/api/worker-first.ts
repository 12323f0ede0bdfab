/**
 * wrangler.toml's `assets.run_worker_first`: the paths the Worker answers before its static
 * assets are looked at. On Cloudflare the static assets' router applies them; the local stack's
 * front (local-front.ts) applies the same list itself, so the two must not drift
 * (worker-first.test.ts reads wrangler.toml).
 */
export const WORKER_FIRST = ["/api/*", "/media/*", "/webhooks/*", "/admin/*", "/health", "/openapi.json", "/docs"] as const;

// The router's glob rules: `*` matches any run of characters, "/" included; the rest literally.
const pattern = new RegExp(`^(?:${WORKER_FIRST.map((glob) => glob.split("*").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*")).join("|")})$`);

/** Whether a request for `pathname` goes to the Worker first (not to a static asset). */
export function isWorkerFirst(pathname: string): boolean {
  return pattern.test(pathname);
}

/** Where the local stack's front runs the Worker's scheduled handler (scheduled.ts): Miniflare's path for it. */
export const LOCAL_SCHEDULED_PATH = "/cdn-cgi/local/scheduled";
