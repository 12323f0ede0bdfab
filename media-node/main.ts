import { parseAllowedOrigins } from "./images/safe-fetch.ts";
import { PieceCache } from "./piece-cache.ts";
import { buildServer } from "./server.ts";

// Entry point: `node media-node/main.ts` (`npm run media-node`; Node 22 strips the types). Configuration comes from the environment.
const port = Number(process.env.MEDIA_NODE_PORT ?? 8788);
const host = process.env.MEDIA_NODE_HOST ?? "127.0.0.1";
const secret = process.env.MEDIA_NODE_SECRET;
if (!secret) {
  // The one line written before the logger exists, in the same shape as every other.
  console.error(JSON.stringify({ level: "fatal", time: Date.now(), service: "media-node", event: "server.refused", error: "MEDIA_NODE_SECRET is required" }));
  process.exit(2);
}
let allowedOrigins: string[];
try {
  allowedOrigins = parseAllowedOrigins(process.env.MEDIA_NODE_ALLOWED_ORIGINS);
} catch (error) {
  console.error(JSON.stringify({ level: "fatal", time: Date.now(), service: "media-node", event: "server.refused", error: `MEDIA_NODE_ALLOWED_ORIGINS: ${(error as Error).message}` }));
  process.exit(2);
}
// The pieces media-node stored, kept for the final assembly (piece-cache.ts); 0 turns it off.
const pieceCacheMb = Number(process.env.MEDIA_NODE_PIECE_CACHE_MB ?? 256);
if (!Number.isFinite(pieceCacheMb) || pieceCacheMb < 0) {
  console.error(JSON.stringify({ level: "fatal", time: Date.now(), service: "media-node", event: "server.refused", error: `MEDIA_NODE_PIECE_CACHE_MB: ${process.env.MEDIA_NODE_PIECE_CACHE_MB} is not a size in MiB` }));
  process.exit(2);
}
const pieces = pieceCacheMb > 0 ? await PieceCache.open(pieceCacheMb * 1024 * 1024) : undefined;
const app = await buildServer({
  secret,
  tmpDir: process.env.MEDIA_NODE_TMP,
  log: { level: process.env.MEDIA_NODE_LOG_LEVEL || "info" },
  allowedOrigins,
  pieces,
});
// fastify logs the address it listens on.
await app.listen({ port, host });
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void app.close().then(() => pieces?.close()).then(() => process.exit(0)));
