import { buildServer } from "./server.ts";

// Entry point: `tsx media-node/main.ts`. Configuration comes from the environment.
const port = Number(process.env.MEDIA_NODE_PORT ?? 8788);
const host = process.env.MEDIA_NODE_HOST ?? "127.0.0.1";
const secret = process.env.MEDIA_NODE_SECRET;
if (!secret) {
  console.error("MEDIA_NODE_SECRET is required");
  process.exit(2);
}
const app = await buildServer({
  secret,
  tmpDir: process.env.MEDIA_NODE_TMP,
  logger: process.env.MEDIA_NODE_LOG === "1",
});
await app.listen({ port, host });
console.log(`media-node listening on http://${host}:${port}`);
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void app.close().then(() => process.exit(0)));
