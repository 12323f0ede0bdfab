import { DrizzleQueryError } from "drizzle-orm/errors";
import { HTTPException } from "hono/http-exception";
import type { ErrorResponse } from "../../contracts/api.ts";
import { authenticate } from "../auth/keys.ts";
import { loadConfig } from "../config.ts";
import { workerLog } from "../log.ts";
import { StorageUnavailable } from "../media/bucket.ts";
import { crossOrigin } from "./cors.ts";
import { keysApi } from "./keys.ts";
import { rateLimit, unauthorized } from "./limits.ts";
import { mediaApi } from "./media.ts";
import { serveMeta } from "./meta.ts";
import { serverTiming } from "./server-timing.ts";
import { OUTAGE_RETRY_AFTER_SECONDS, router, STORAGE_UNAVAILABLE_MESSAGE } from "./router.ts";
import { videosApi } from "./videos.ts";
import { webhooksApi } from "./webhooks.ts";

/**
 * The Worker's HTTP app: one sub-app per resource, mounted under its prefix, each route
 * documented beside its handler. Adding a route is adding a file beside its resource's
 * others and one `serve(...)` line in the resource's sub-app; the OpenAPI document follows.
 */
export const app = router();

/**
 * The deployment's settings, read from the environment once per env object: they cannot
 * change while it lives, and every request needs them. Handlers only read them.
 */
const settings = new WeakMap<Env, ReturnType<typeof loadConfig>>();

app.use("*", serverTiming);

app.use("*", async (c, next) => {
  let config = settings.get(c.env);
  if (!config) settings.set(c.env, (config = loadConfig(c.env)));
  c.set("config", config);
  await next();
});

app.use("/api/*", crossOrigin);

// Every /api route needs a key; browsers' WebSockets cannot set headers, so `access_token` is accepted too.
app.use("/api/*", async (c, next) => {
  if (c.req.method === "OPTIONS") return next();
  const header = c.req.header("authorization");
  const key = header?.match(/^Bearer\s+(\S+)$/i)?.[1] ?? c.req.query("access_token");
  const principal = await authenticate(c.env.DB, key);
  if (!principal) return unauthorized(c, Boolean(key));
  c.set("principal", principal);
  await next();
});
app.use("/api/*", rateLimit);

serveMeta(app);
app.route("/api", videosApi);
app.route("/webhooks", webhooksApi);
app.route("/media", mediaApi);
app.route("/admin/keys", keysApi);

app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${new URL(c.req.url).pathname}` } satisfies ErrorResponse, 404));
app.onError((error, c) => {
  // What the router itself refuses (an unreadable body, say) is the client's problem, said in the API's error shape.
  if (error instanceof HTTPException && error.status < 500) return c.json({ error: error.message || "bad request", field: "body" } satisfies ErrorResponse, error.status);
  const config = c.get("config") ?? loadConfig(c.env);
  const path = new URL(c.req.url).pathname;
  // D1 (keys, the video index) failing a query is an outage, not a bug: the caller may try again
  // shortly, and the video runs themselves (in their Durable Objects) go on without it.
  if (error instanceof DrizzleQueryError) {
    workerLog(config.log).warn("request.unavailable", { method: c.req.method, path, error: error.cause ?? error });
    c.header("retry-after", String(OUTAGE_RETRY_AFTER_SECONDS));
    return c.json({ error: "the database is unavailable right now; try again shortly" } satisfies ErrorResponse, 503);
  }
  // So is R2 failing a read or write the request needs (media/bucket.ts).
  if (error instanceof StorageUnavailable) {
    workerLog(config.log).warn("request.unavailable", { method: c.req.method, path, error: error.cause ?? error });
    c.header("retry-after", String(OUTAGE_RETRY_AFTER_SECONDS));
    return c.json({ error: STORAGE_UNAVAILABLE_MESSAGE } satisfies ErrorResponse, 503);
  }
  workerLog(config.log).error("request.failed", { method: c.req.method, path, error, stack: error.stack });
  return c.json({ error: "internal error", detail: error.message }, 500);
});
