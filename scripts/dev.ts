import { liveReload } from "./live-reload.ts";
import { devVars, providerSettings } from "./local-settings.ts";
import { createDevKey, ROOT, startStack } from "./stack.ts";

/** `npm run dev`: the local stack on fixed ports, kept running for API use until Ctrl-C. */

const workerPort = Number(process.env.ADREEL_PORT ?? 8787);
const mediaPort = Number(process.env.MEDIA_NODE_PORT ?? 8788);
const draftPort = Number(process.env.DRAFT_PORT ?? 8789);
// Provider and OpenAI settings from the environment or .dev.vars (README "Running with Replicate");
// DRAFT_EMULATE=replicate runs against the Replicate emulator instead.
const provider = providerSettings(process.env, devVars(ROOT));
const emulator = process.env.DRAFT_EMULATE === "replicate";
const stack = await startStack({ workerPort, mediaPort, draftPort, provider, emulator, verbose: process.env.ADREEL_VERBOSE === "1", onProgress: (message) => console.error(`  ${message}`) });
const key = await createDevKey(stack);
console.log(`adreel is running.
  live page:           ${stack.workerUrl}/?key=${key}
  API reference:       ${stack.workerUrl}/docs   (OpenAPI 3.1: ${stack.workerUrl}/openapi.json)
  API (Worker):        ${stack.workerUrl}
  media-node:          ${stack.mediaUrl}
  draft model server:  ${stack.draftUrl}
  storage (R2's S3):   ${stack.storageUrl}/cdn-cgi/local/r2/s3
  model provider:      ${emulator ? `Replicate emulator at ${stack.emulatorUrl}` : provider.MODEL_PROVIDER === "replicate" ? `replicate at ${provider.PROVIDER_BASE_URL ?? "https://api.replicate.com"}` : "draft (local)"}
  development API key: ${key}

  export ADREEL_URL=${stack.workerUrl} ADREEL_API_KEY=${key}
  curl -s -X POST $ADREEL_URL/api/generate -H "authorization: Bearer $ADREEL_API_KEY" -H 'content-type: application/json' -d '{"prompt":"a cozy coffee shop ad"}'
${process.env.ADREEL_LIVE_RELOAD === "0" ? "" : "Saving a source file restarts the server that runs it (ADREEL_LIVE_RELOAD=0: off).\n"}Press Ctrl-C to stop.`);
const reload =
  process.env.ADREEL_LIVE_RELOAD === "0"
    ? null
    : liveReload(ROOT, async (server, because) => {
        const t0 = performance.now();
        console.error(`  ${because} changed: restarting ${server}`);
        try {
          if (server === "worker") await stack.restartWorker();
          else {
            await stack.stopMediaNode();
            await stack.startMediaNode();
          }
          console.error(`  ${server} is up again (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
        } catch (error) {
          // A change that does not build or start is the developer's to fix: the next save tries again.
          console.error(`  ${server} did not start: ${(error as Error).message}`);
        }
      });
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    console.log("stopping...");
    reload?.close();
    void stack.stop().then(() => process.exit(0));
  });
}
setInterval(() => undefined, 1 << 30);
