import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { GenerateRequestInput, RenderDryRunResponse } from "../contracts/api.ts";
import { AdreelClient } from "./client.ts";
import { progressReporter } from "./progress.ts";

/**
 * adreel CLI.
 *   adreel generate "prompt" [--duration 30] [--aspect 16:9] [--creativity 0.5] [--archetype id]
 *                            [--product URL]... [--character URL]... [--logo URL] [--max-cost USD] [--out file.mp4]
 *                            [--headline TEXT] [--cta TEXT] [--no-voiceover] [--voice NAME] [--captions burned|sidecar|none]
 *   adreel render <draft_id> [--dry-run] [--max-cost USD] [--out file.mp4]   (a complete draft, rendered at standard quality)
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
  return followToFile(client, started.video_id, options.out, log);
}

/** Follow a started video live until it ends, then download its MP4. Returns the file's path. */
async function followToFile(client: AdreelClient, videoId: string, out: string | undefined, log: (line: string) => void): Promise<string> {
  const progress = progressReporter();
  const status = await client.watch(videoId, (event) => progress.onEvent(event));
  progress.done();
  if (status.status !== "complete") throw new Error(`video ${videoId} ${status.status}: ${status.error ?? "no reason given"}`);
  const video = await client.video(videoId);
  const path = resolve(out ?? `out/${videoId}.mp4`);
  mkdirSync(dirname(path), { recursive: true });
  await client.download(video.final_video_url!, path);
  // The captions beside the video, under its name (ad.mp4 → ad.vtt), as players look for them.
  if (video.captions_url) await client.download(video.captions_url, path.replace(/\.mp4$/i, "") + ".vtt");
  log(`cost $${video.cost_usd.toFixed(4)} · ${video.generation_time_seconds}s · ${video.spec?.beats.length ?? 0} beats · ${video.chunk_urls.length} chunks`);
  return path;
}

export interface RenderOptions {
  maxCost?: number;
  out?: string;
}

/** What a standard render of a draft will cost, phase by phase: nothing is spent. */
export async function renderEstimate(client: AdreelClient, draftId: string, options: RenderOptions = {}): Promise<RenderDryRunResponse> {
  return client.render(draftId, { quality: "standard", dry_run: true, ...(options.maxCost ? { max_cost_usd: options.maxCost } : {}) });
}

export function describeEstimate(estimate: Pick<RenderDryRunResponse, "rendered_from" | "cost_estimate" | "chunks">): string {
  const phases = Object.entries(estimate.cost_estimate.by_phase)
    .filter(([, usd]) => usd > 0)
    .map(([phase, usd]) => `${phase} $${usd.toFixed(4)}`)
    .join(", ");
  return `standard render of ${estimate.rendered_from}: estimated $${estimate.cost_estimate.total_usd.toFixed(2)} (${estimate.chunks} video predictions; ${phases})`;
}

/** Render a complete draft at standard quality from its own spec: the estimate first, then the video, followed live and downloaded. */
export async function renderToFile(client: AdreelClient, draftId: string, options: RenderOptions = {}, log: (line: string) => void = (l) => console.error(l)): Promise<string> {
  const started = await client.render(draftId, { quality: "standard", ...(options.maxCost ? { max_cost_usd: options.maxCost } : {}) });
  log(describeEstimate(started));
  log(`video ${started.video_id} queued (rendered from ${draftId})`);
  return followToFile(client, started.video_id, options.out, log);
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
      "dry-run": { type: "boolean" },
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
    case "render": {
      const [draftId] = positionals;
      if (!draftId) throw new Error("usage: adreel render <draft_id> [--dry-run] [--max-cost USD] [--out file.mp4]");
      const options = { maxCost: values["max-cost"] ? Number(values["max-cost"]) : undefined, out: values.out };
      if (values["dry-run"]) {
        const estimate = await renderEstimate(client, draftId, options);
        console.error(describeEstimate(estimate));
        console.log(JSON.stringify({ rendered_from: estimate.rendered_from, quality: estimate.quality, cost_estimate: estimate.cost_estimate, chunks: estimate.chunks }, null, 2));
      } else console.log(await renderToFile(client, draftId, options));
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
      throw new Error("usage: adreel generate|render|status|video|list|cancel|keys ... (see cli/adreel.ts)");
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).catch((error) => {
    console.error((error as Error).message);
    process.exit(1);
  });
}
