import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { downloadTo } from "../media-node/io.ts";

/** Input files a model reads (start images, conditioning images), fetched like a hosted model would. */

const INPUT_LIMIT_BYTES = 40 * 1024 * 1024;

export async function fetchInput(url: string, dir: string, name: string): Promise<Buffer> {
  const path = join(dir, name);
  await downloadTo(url, path, { maxBytes: INPUT_LIMIT_BYTES, timeoutMs: 60_000 });
  return readFile(path);
}
