import { AdreelClient } from "../cli/client.ts";
import { generateToFile } from "../cli/adreel.ts";
import { createDevKey, startStack } from "./stack.ts";

/**
 * `npm run demo [-- "a prompt"]`: the main job. Starts the local stack (Worker + media-node
 * with the draft model provider), makes one ad, writes the MP4 and prints its path last.
 */

const DEFAULT_PROMPT = "Launch of Aurora, a sleek matte-black smart water bottle that glows blue to remind busy professionals to drink, on a sunny city rooftop";

const prompt = process.argv.slice(2).join(" ").trim() || DEFAULT_PROMPT;
const started = Date.now();
console.error(`adreel demo: "${prompt}"`);
console.error("starting the local stack (the Worker, its storage, media-node and the draft model server)...");
const since = () => ((Date.now() - started) / 1000).toFixed(1);
const stack = await startStack({ verbose: process.env.ADREEL_VERBOSE === "1", onProgress: (message) => console.error(`  ${message}`) });
const marks = [`servers up ${since()} s`];
let exitCode = 0;
try {
  const key = await createDevKey(stack);
  marks.push(`key ${since()} s`);
  console.error(`worker ${stack.workerUrl} · media-node ${stack.mediaUrl} · draft ${stack.draftUrl} · development key ${key}`);
  const path = await generateToFile(new AdreelClient(stack.workerUrl, key), { prompt, out: process.env.ADREEL_OUT });
  marks.push(`ad downloaded ${since()} s`);
  console.error(`done in ${since()} s`);
  console.log(path);
} catch (error) {
  console.error(`demo failed: ${(error as Error).message}`);
  const logs = stack.logs();
  console.error(`--- worker log (tail) ---\n${logs.worker.slice(-4000)}\n--- media-node log (tail) ---\n${logs.media.slice(-4000)}\n--- draft log (tail) ---\n${logs.draft.slice(-4000)}`);
  exitCode = 1;
} finally {
  await stack.stop();
}
// Where the wall time went, each mark counted from the start (bench/demo.ts reads this line).
console.error(`timings: ${[...marks, `servers stopped ${since()} s`].join(" · ")}`);
process.exit(exitCode);
