import { buildDraftServer } from "./server.ts";

// Entry point: `tsx draft/main.ts` (`npm run draft`). Configuration comes from the environment.
const port = Number(process.env.DRAFT_PORT ?? 8789);
const host = process.env.DRAFT_HOST ?? "127.0.0.1";
const token = process.env.DRAFT_PROVIDER_TOKEN;
if (!token) {
  console.error("DRAFT_PROVIDER_TOKEN is required");
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
  { logger: process.env.DRAFT_LOG === "1" },
);
await app.listen({ port, host });
console.log(`draft model server listening on http://${host}:${port}${process.env.DRAFT_EMULATE === "replicate" ? " (emulating Replicate's models)" : ""}`);
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void app.close().then(() => process.exit(0)));
