import { createDevKey, startStack } from "./stack.ts";

/** `npm run dev`: the local stack on fixed ports, kept running for API use until Ctrl-C. */

const workerPort = Number(process.env.ADREEL_PORT ?? 8787);
const mediaPort = Number(process.env.MEDIA_NODE_PORT ?? 8788);
const draftPort = Number(process.env.DRAFT_PORT ?? 8789);
const stack = await startStack({ workerPort, mediaPort, draftPort, verbose: process.env.ADREEL_VERBOSE === "1" });
const key = await createDevKey(stack);
console.log(`adreel is running.
  live page:           ${stack.workerUrl}/?key=${key}
  API reference:       ${stack.workerUrl}/docs   (OpenAPI 3.1: ${stack.workerUrl}/openapi.json)
  API (Worker):        ${stack.workerUrl}
  media-node:          ${stack.mediaUrl}
  draft model server:  ${stack.draftUrl}
  development API key: ${key}

  export ADREEL_URL=${stack.workerUrl} ADREEL_API_KEY=${key}
  curl -s -X POST $ADREEL_URL/api/generate -H "authorization: Bearer $ADREEL_API_KEY" -H 'content-type: application/json' -d '{"prompt":"a cozy coffee shop ad"}'
Press Ctrl-C to stop.`);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    console.log("stopping...");
    void stack.stop().then(() => process.exit(0));
  });
}
setInterval(() => undefined, 1 << 30);
