import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { GenerateRequestInput } from "../contracts/api.ts";
import { AdreelClient } from "./client.ts";
import { progressReporter } from "./progress.ts";

/**
 * adreel CLI.
 *   adreel generate "prompt" [--duration 30] [--aspect 16:9] [--creativity 0.5] [--archetype id]
 *                            [--product URL]... [--character URL]... [--logo URL] [--max-cost USD] [--out file.mp4]
 *                            [--headline TEXT] [--cta TEXT] [--no-voiceover] [--voice NAME] [--captions burned|sidecar|none]
 *   adreel status <video_id>      adreel video <video_id>      adreel list [--status s]
 *   adreel cancel <video_id>      adreel keys create <tenant> | list | revoke <key_id>
 * Connection: ADREEL_URL (default http://127.0.0.1:8787), ADREEL_API_KEY, ADREEL_ADMIN_TOKEN (keys).
 */

export interface GenerateOptions {
  prompt: string;
  duration?: number;
  aspect?: string;
  creativity?: number;
  archetype?: string;
  product?: string[];
  character?: string[];
  logo?: string;
  maxCost?: number;
  out?: string;
  /** Replace the planner's on-screen copy. */
  headline?: string;
  cta?: string;
  /** False: no voiceover (and so no captions). */
  voiceover?: boolean;
  voice?: string;
  captions?: string;
}

/** The finish part of a generate request: copy overrides, the voiceover and the captions, only what was asked. */
export function finishRequest(options: Pick<GenerateOptions, "headline" | "cta" | "voiceover" | "voice" | "captions">): Partial<GenerateRequestInput> {
  const copy = { ...(options.headline ? { headline: options.headline } : {}), ...(options.cta ? { cta: options.cta } : {}) };
  const voiceover = { ...(options.voiceover === false ? { enabled: false } : {}), ...(options.voice ? { voice: options.voice } : {}) };
  return {
    ...(Object.keys(copy).length ? { copy } : {}),
    ...(Object.keys(voiceover).length ? { voiceover } : {}),
    ...(options.captions ? { captions: options.captions as "burned" } : {}),
  };
}

/** Submit, follow live, download: the main job. Returns the path of the final MP4. */
export async function generateToFile(client: AdreelClient, options: GenerateOptions, log: (line: string) => void = (l) => console.error(l)): Promise<string> {
  const brand = options.product?.length || options.character?.length || options.logo
    ? { product_images: options.product ?? [], character_images: options.character ?? [], logo: options.logo ?? null }
    : undefined;
  const started = await client.generate({
    prompt: options.prompt,
    duration_s: (options.duration ?? 30) as 15 | 30 | 60,
    aspect_ratio: (options.aspect ?? "16:9") as "16:9",
    creativity_level: options.creativity ?? 0.5,
    ...(options.archetype ? { archetype: options.archetype as "product_showcase" } : {}),
    ...(brand ? { brand_assets: brand } : {}),
    ...(options.maxCost ? { max_cost_usd: options.maxCost } : {}),
    ...finishRequest(options),
  });
  log(`video ${started.video_id} queued`);
  const progress = progressReporter();
  const status = await client.watch(started.video_id, (event) => progress.onEvent(event));
  progress.done();
  if (status.status !== "complete") throw new Error(`video ${started.video_id} ${status.status}: ${status.error ?? "no reason given"}`);
  const video = await client.video(started.video_id);
  const out = resolve(options.out ?? `out/${started.video_id}.mp4`);
  mkdirSync(dirname(out), { recursive: true });
  await client.download(video.final_video_url!, out);
  // The captions beside the video, under its name (ad.mp4 → ad.vtt), as players look for them.
  if (video.captions_url) await client.download(video.captions_url, out.replace(/\.mp4$/i, "") + ".vtt");
  log(`cost $${video.cost_usd.toFixed(4)} · ${video.generation_time_seconds}s · ${video.spec?.beats.length ?? 0} beats · ${video.chunk_urls.length} chunks`);
  return out;
}

async function main(argv: string[]): Promise<void> {
  const baseUrl = process.env.ADREEL_URL ?? "http://127.0.0.1:8787";
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      duration: { type: "string" },
      aspect: { type: "string" },
      creativity: { type: "string" },
      archetype: { type: "string" },
      product: { type: "string", multiple: true },
      character: { type: "string", multiple: true },
      logo: { type: "string" },
      "max-cost": { type: "string" },
      out: { type: "string" },
      headline: { type: "string" },
      cta: { type: "string" },
      "no-voiceover": { type: "boolean" },
      voice: { type: "string" },
      captions: { type: "string" },
      status: { type: "string" },
      name: { type: "string" },
    },
  });
  const key = process.env.ADREEL_API_KEY ?? "";
  const client = new AdreelClient(baseUrl, key);
  switch (command) {
    case "generate": {
      const prompt = positionals.join(" ").trim();
      if (!prompt) throw new Error('usage: adreel generate "prompt" [options]');
      const path = await generateToFile(client, {
        prompt,
        duration: values.duration ? Number(values.duration) : undefined,
        aspect: values.aspect,
        creativity: values.creativity ? Number(values.creativity) : undefined,
        archetype: values.archetype,
        product: values.product,
        character: values.character,
        logo: values.logo,
        maxCost: values["max-cost"] ? Number(values["max-cost"]) : undefined,
        out: values.out,
        headline: values.headline,
        cta: values.cta,
        voiceover: values["no-voiceover"] ? false : undefined,
        voice: values.voice,
        captions: values.captions,
      });
      console.log(path);
      return;
    }
    case "status":
      console.log(JSON.stringify(await client.status(positionals[0] ?? ""), null, 2));
      return;
    case "video":
      console.log(JSON.stringify(await client.video(positionals[0] ?? ""), null, 2));
      return;
    case "list":
      console.log(JSON.stringify(await client.list({ status: values.status }), null, 2));
      return;
    case "cancel":
      console.log(JSON.stringify(await client.cancel(positionals[0] ?? ""), null, 2));
      return;
    case "keys": {
      const admin = new AdreelClient(baseUrl, process.env.ADREEL_ADMIN_TOKEN ?? "");
      const [action, arg] = positionals;
      if (action === "create") console.log(JSON.stringify(await admin.request("POST", "/admin/keys", { tenant_id: arg, name: values.name ?? "api key" }), null, 2));
      else if (action === "list") console.log(JSON.stringify(await admin.request("GET", "/admin/keys"), null, 2));
      else if (action === "revoke") console.log(JSON.stringify(await admin.request("DELETE", `/admin/keys/${arg}`), null, 2));
      else throw new Error("usage: adreel keys create <tenant> | list | revoke <key_id>");
      return;
    }
    default:
      throw new Error("usage: adreel generate|status|video|list|cancel|keys ... (see cli/adreel.ts)");
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).catch((error) => {
    console.error((error as Error).message);
    process.exit(1);
  });
}
