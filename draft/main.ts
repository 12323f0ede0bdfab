import { buildDraftServer } from "./server.ts";

// Entry point: `node draft/main.ts` (`npm run draft`; Node 22 strips the types). Configuration comes from the environment.
const port = Number(process.env.DRAFT_PORT ?? 8789);
const host = process.env.DRAFT_HOST ?? "127.0.0.1";
const token = process.env.DRAFT_PROVIDER_TOKEN;
if (!token) {
  console.error(JSON.stringify({ level: "fatal", time: Date.now(), service: "draft", event: "server.refused", error: "DRAFT_PROVIDER_TOKEN is required" }));
  process.exit(2);
}
const app = await buildDraftServer(
  {
    token,
    // Empty: the server makes a secret of its own (GET /v1/webhooks/default/secret tells it).
    webhookSecret: process.env.DRAFT_WEBHOOK_SECRET ?? "",
    publicUrl: process.env.DRAFT_PUBLIC_URL ?? `http://${host}:${port}`,
    outputDir: process.env.DRAFT_OUTPUT_DIR,
    tmpDir: process.env.DRAFT_TMP,
    latencyMs: Number(process.env.DRAFT_LATENCY_MS ?? 0),
    failRate: Number(process.env.DRAFT_FAIL_RATE ?? 0),
    concurrency: Number(process.env.DRAFT_CONCURRENCY ?? 2),
    emulate: process.env.DRAFT_EMULATE === "replicate" ? "replicate" : undefined,
  },
  { log: { service: "draft", level: process.env.DRAFT_LOG_LEVEL || "info" } },
);
// fastify logs the address it listens on.
await app.listen({ port, host });
if (process.env.DRAFT_EMULATE === "replicate") app.log.info({ event: "server.emulating", emulate: "replicate", note: "emulating Replicate's models" });
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void app.close().then(() => process.exit(0)));
