import { Hono } from "hono";
import { cors } from "hono/cors";
import { createKeyRoute, listKeysRoute, revokeKeyRoute } from "./api/admin.ts";
import { uploadAsset } from "./api/assets.ts";
import { generate } from "./api/generate.ts";
import { rateLimit } from "./api/limits.ts";
import { regenerateBeat } from "./api/regenerate.ts";
import { docsPage, servedOpenApiDocument } from "./api/openapi.ts";
import { cancel, list, live, status, video } from "./api/videos.ts";
import type { AppEnv } from "./app.ts";
import { authenticate } from "./auth/keys.ts";
import { loadConfig, missingSecrets } from "./config.ts";
import { getMedia, putMedia } from "./media/routes.ts";
import { receiveWebhook } from "./providers/webhook.ts";
import { consumeDeadLetters, consumeJobs } from "./queue/consumer.ts";

export { VideoRun } from "./run/video-run.ts";
export { RequestLimiter } from "./auth/limiter.ts";
export { MediaNodeContainer } from "./media/container.ts";

export const app = new Hono<AppEnv>();

app.use("*", async (c, next) => {
  c.set("config", loadConfig(c.env));
  await next();
});

app.use("/api/*", cors({ origin: "*", allowHeaders: ["authorization", "content-type", "idempotency-key"], allowMethods: ["GET", "POST", "OPTIONS"], maxAge: 600 }));

app.get("/health", (c) => {
  const missing = missingSecrets(c.get("config"), c.env);
  return c.json({ ok: missing.length === 0, provider: c.get("config").provider, ...(missing.length ? { missing } : {}) }, missing.length ? 503 : 200);
});

app.get("/openapi.json", (c) => c.json(servedOpenApiDocument(c.get("config").publicBaseUrl)));
app.get("/docs", (c) => c.html(docsPage()));

// Every /api route needs a key; browsers' WebSockets cannot set headers, so `access_token` is accepted too.
app.use("/api/*", async (c, next) => {
  if (c.req.method === "OPTIONS") return next();
  const header = c.req.header("authorization");
  const key = header?.match(/^Bearer\s+(\S+)$/i)?.[1] ?? c.req.query("access_token");
  const principal = await authenticate(c.env.DB, key);
  if (!principal) return c.json({ error: key ? "invalid or revoked API key" : "missing API key (Authorization: Bearer <key>)" }, 401);
  c.set("principal", principal);
  await next();
});
app.use("/api/*", rateLimit);

app.post("/api/generate", generate);
app.post("/api/assets", uploadAsset);
app.get("/api/status/:id", status);
app.get("/api/video/:id", video);
app.post("/api/video/:id/cancel", cancel);
app.get("/api/video/:id/live", live);
app.post("/api/video/:id/beats/:n/regenerate", regenerateBeat);
app.get("/api/videos", list);

app.post("/webhooks/replicate", (c) => receiveWebhook(c, c.get("config")));

app.get("/media/*", getMedia);
app.put("/media/*", putMedia);

app.post("/admin/keys", createKeyRoute);
app.get("/admin/keys", listKeysRoute);
app.delete("/admin/keys/:id", revokeKeyRoute);

app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${new URL(c.req.url).pathname}` }, 404));
app.onError((error, c) => {
  console.error(error);
  return c.json({ error: "internal error", detail: error.message }, 500);
});

export default {
  fetch: app.fetch,
  async queue(batch, env) {
    if (batch.queue.endsWith("-dlq")) await consumeDeadLetters(batch, env);
    else await consumeJobs(batch, env);
  },
} satisfies ExportedHandler<Env>;
