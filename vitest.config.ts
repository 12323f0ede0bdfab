import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/** A fixed `whsec_` secret for Worker tests (32 bytes, base64). */
export const TEST_WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

// Two projects: Worker code runs inside workerd (Cloudflare's plugin, real D1/R2/DO/Queues
// simulation); media-node, scripts and end-to-end tests run in Node with real ffmpeg and sharp.
/**
 * The fault suite (test/faults) starts the whole stack and takes ~8 min, too long for
 * `npm test`: its project exists only when asked for by name (`npm run test:faults`).
 */
const requested = (name: string) => process.argv.some((arg, i) => arg === `--project=${name}` || (arg === name && process.argv[i - 1] === "--project"));
const faultsRequested = requested("faults");
/** `npm run test:soak` (test/soak): 50 videos with random faults, ~10 min; by hand, never in `npm test` or CI. */
const soakRequested = requested("soak");
/** `npm run test:live` (test/live): spends real money on Replicate; only ever run by name, never by `npm test` or CI. */
const liveRequested = requested("live");

export default defineConfig(async () => {
  const migrations = await readD1Migrations("migrations");
  return {
    test: {
      projects: [
        {
          plugins: [
            cloudflareTest({
              wrangler: { configPath: "./wrangler.toml" },
              // The real entry plus a test-only container class (no Docker here): see the file.
              main: "./test/support/workerd/worker-entry.ts",
              miniflare: {
                durableObjects: { MEDIA_NODE_CONTAINER: { className: "StandInMediaNodeContainer", useSQLite: true } },
                bindings: {
                  TEST_MIGRATIONS: migrations,
                  MEDIA_NODE_SECRET: "test-media-node-secret",
                  MEDIA_SIGNING_SECRET: "test-media-signing-secret",
                  WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
                  DRAFT_PROVIDER_TOKEN: "r8_test_token",
                  ADMIN_TOKEN: "test-admin-token-0123456789",
                  // Nothing listens here: Worker tests drive the run directly, the end-to-end tests run the real stack.
                  MEDIA_NODE_URL: "http://127.0.0.1:9",
                  PROVIDER_BASE_URL: "http://127.0.0.1:9",
                  // Worker tests create predictions far faster than a deployment would; the create
                  // gate's own test (worker/run/dispatch.test.ts) sets a limit of its own.
                  PROVIDER_CREATES_PER_MINUTE: "1000000",
                  // Runs here write hundreds of info lines each; warnings and errors still show.
                  // worker/log.test.ts holds the logger to its format, and test/logs.test.ts reads
                  // a real run's info lines from the local stack.
                  LOG_LEVEL: "warn",
                  // Worker tests claim and run each ingest step themselves (the run driver); the webhook
                  // route running it too would race them. worker/api/webhook-ingest.test.ts turns it on.
                  WEBHOOK_INGEST: "0",
                },
                // Jobs the runs enqueue land on a queue nobody consumes: a consumer failing against
                // port 9 in the background would race the tests. Worker tests drive each run through
                // its RPC methods and hand batches to consumeJobs themselves (worker/queue/consumer.test.ts).
                queueProducers: { JOBS: { queueName: "adreel-jobs-unconsumed" }, MEDIA_JOBS: { queueName: "adreel-media-unconsumed" }, AUDIO_JOBS: { queueName: "adreel-audio-unconsumed" } },
              },
            }),
          ],
          test: {
            name: "worker",
            include: ["worker/**/*.test.ts", "contracts/**/*.test.ts", "lib/**/*.test.ts"],
            setupFiles: ["test/support/worker/setup.ts"],
            // Run-level tests drive a whole video through hundreds of RPCs; with the node project's
            // ffmpeg work beside them on 2 cores a few take over vitest's default 5 s.
            testTimeout: 60_000,
          },
        },
        {
          test: {
            name: "node",
            environment: "node",
            include: ["media-node/**/*.test.ts", "draft/**/*.test.ts", "test/**/*.test.ts", "cli/**/*.test.ts", "scripts/**/*.test.ts", "bench/**/*.test.ts"],
            // The fault suite has its own project (below): it runs the whole stack, fault by fault.
            exclude: ["test/faults/**", "test/soak/**", "test/live/**", "**/node_modules/**"],
            testTimeout: 120_000,
            hookTimeout: 120_000,
          },
        },
        ...(faultsRequested
          ? [
              {
                test: {
                  name: "faults",
                  environment: "node" as const,
                  include: ["test/faults/**/*.test.ts"],
                  testTimeout: 240_000,
                  hookTimeout: 180_000,
                },
              },
            ]
          : []),
        ...(soakRequested ? [{ test: { name: "soak", environment: "node" as const, include: ["test/soak/**/*.test.ts"], testTimeout: 60 * 60_000, hookTimeout: 180_000 } }] : []),
        ...(liveRequested
          ? [{ test: { name: "live", environment: "node" as const, include: ["test/live/**/*.test.ts"], testTimeout: 35 * 60_000, hookTimeout: 180_000 } }]
          : []),
      ],
    },
  };
});
