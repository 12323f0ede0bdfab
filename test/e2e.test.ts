import { mkdtempSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isEndStatus, type StatusResponse } from "../contracts/api.ts";
import { fetchEventLog, phaseTimeline } from "../bench/event-log.ts";
import { AdreelClient } from "../cli/client.ts";
import { ffmpeg, ffprobe } from "../media-node/ffmpeg.ts";
import { processTree } from "../bench/process-tree.ts";
import { servesStorage } from "../scripts/shared-storage.ts";
import { presignR2Url } from "../worker/media/presigned-url.ts";
import { createDevKey, MEDIA_BUCKET, type Stack, startStack } from "../scripts/stack.ts";

/**
 * The whole product, as a user runs it: the Worker (scripts/worker-host.ts: Queues and Durable
 * Objects), its storage (scripts/storage-host.ts: R2 with R2's S3 API, and D1), media-node and
 * the draft model server, all local, over real HTTP.
 */

const PHASES = ["queued", "planning", "generating_references", "storyboarding", "generating_chunks", "stitching", "adding_music", "complete"];

let stack: Stack;
let client: AdreelClient;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "adreel-e2e-"));
  // Short leases and polling so the restart test recovers lost work well inside its deadline.
  // A step that works longer than its lease keeps it (queue/lease-heartbeat.ts renews it as the
  // step runs), but a message still waiting in a backed-up queue has no heartbeat: at 15 s and a
  // load of 20-30 those lapsed and were sent again, and both tests ran out of their 240 s.
  stack = await startStack({ stateDir: join(dir, "state"), vars: { JOB_LEASE_MS: "60000", POLL_AFTER_MS: "5000" } });
  client = new AdreelClient(stack.workerUrl, await createDevKey(stack));
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Poll status until the video ends, recording every observation. */
async function follow(id: string, timeoutMs = 240_000): Promise<StatusResponse[]> {
  const seen: StatusResponse[] = [];
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const status = await client.status(id);
    seen.push(status);
    if (isEndStatus(status.status)) return seen;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`video ${id} still ${seen.at(-1)?.current_phase} after ${timeoutMs} ms:\n${stack.logs().worker.slice(-3000)}`);
}

async function frameAt(path: string, seconds: number, width = 64, height = 36): Promise<Buffer> {
  const { stdout } = await ffmpeg(["-ss", seconds.toFixed(3), "-i", path, "-frames:v", "1", "-vf", `scale=${width}:${height}`, "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]);
  return stdout;
}

function meanAbsDiff(a: Buffer, b: Buffer): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

describe("a draft ad end to end", () => {
  it("walks every phase with rising progress and produces a valid MP4 of the exact length", async () => {
    const first = await client.generate({ prompt: "A new citrus sparkling water for beach volleyball players at sunset", duration_s: 15 });
    // A second submission while the first runs.
    const second = await client.generate({ prompt: "A calm meditation app for night-shift nurses", duration_s: 15, aspect_ratio: "9:16" });
    // The first video is also followed live: the cost it shows there must never fall either.
    const liveCosts: number[] = [];
    const watched = client.watch(first.video_id, (message) => {
      if (message.type === "snapshot") {
        if (message.snapshot) liveCosts.push(message.snapshot.cost_usd);
      } else if ("cost_usd" in message && typeof message.cost_usd === "number") liveCosts.push(message.cost_usd);
    }, 240_000);
    const [trace, trace2] = await Promise.all([follow(first.video_id), follow(second.video_id)]);
    await watched;

    const last = trace.at(-1)!;
    expect(last.error).toBeNull();
    expect(last.status).toBe("complete");
    expect(trace2.at(-1)!.status).toBe("complete");
    const progress = trace.map((s) => s.progress);
    for (let i = 1; i < progress.length; i++) expect(progress[i]).toBeGreaterThanOrEqual(progress[i - 1]!);
    expect(progress.at(-1)).toBe(100);
    const phases = trace.map((s) => PHASES.indexOf(s.current_phase));
    for (let i = 1; i < phases.length; i++) expect(phases[i]).toBeGreaterThanOrEqual(phases[i - 1]!);
    // Money never goes backwards, polled or live; what is still running is shown apart.
    for (const [name, costs] of [["GET /api/status", trace.map((s) => s.cost_usd)], ["live events", liveCosts]] as const) {
      expect(costs.length, name).toBeGreaterThan(3);
      for (let i = 1; i < costs.length; i++) expect(costs[i], `${name}: ${costs[i - 1]} → ${costs[i]}`).toBeGreaterThanOrEqual(costs[i - 1]!);
    }

    const video = await client.video(first.video_id);
    expect(video.final_video_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/media\/videos\//);
    expect(video.spec?.duration_s).toBe(15);
    expect(video.storyboard_images).toHaveLength(video.spec!.beats.length);
    expect(video.chunk_urls.length).toBeGreaterThanOrEqual(video.spec!.beats.length);
    expect(video.reference_images).toHaveLength(3);
    expect(video.cost_usd).toBeGreaterThan(0);
    expect(video.cost_usd).toBeGreaterThanOrEqual(liveCosts.at(-1)!);
    // Every prediction settled: the total is the ledger's exact sum of actual costs.
    expect(video.cost_pending_usd).toBe(0);
    expect(video.cost_usd).toBeCloseTo(video.cost_ledger!.reduce((sum, e) => sum + e.actual_usd!, 0), 9);
    expect(video.generation_time_seconds).toBeGreaterThan(0);

    const path = join(dir, "first.mp4");
    await client.download(video.final_video_url!, path);
    const probe = await ffprobe(path, true);
    const v = probe.streams.find((s) => s.codec_type === "video")!;
    const a = probe.streams.find((s) => s.codec_type === "audio")!;
    expect(v.codec_name).toBe("h264");
    expect(v.pix_fmt).toBe("yuv420p");
    expect([v.width, v.height]).toEqual([1024, 576]);
    expect(v.r_frame_rate).toBe("24/1");
    expect(Number(v.nb_read_frames)).toBe(15 * 24);
    expect(a.codec_name).toBe("aac");
    expect(Math.abs(Number(probe.format.duration) - 15)).toBeLessThanOrEqual(1 / 24 + 0.03);

    // Beats look different from each other.
    const beats = video.spec!.beats;
    const mids = await Promise.all(beats.map((b) => frameAt(path, (b.start_frame + b.frames / 2) / 24)));
    for (let i = 1; i < mids.length; i++) expect(meanAbsDiff(mids[i - 1]!, mids[i]!)).toBeGreaterThan(3);

    // A blended transition really blends: its middle frame differs from both sides.
    const blended = beats.slice(0, -1).find((b) => b.transition_out.type !== "cut");
    expect(blended).toBeDefined();
    if (blended) {
      // The overlap starts where the beat's on-screen frames end and runs into the next beat.
      const seam = blended.start_frame + blended.frames;
      const overlap = blended.transition_out.frames;
      const before = await frameAt(path, (seam - 2) / 24);
      const middle = await frameAt(path, (seam + overlap / 2) / 24);
      const after = await frameAt(path, (seam + overlap + 2) / 24);
      expect(meanAbsDiff(middle, before)).toBeGreaterThan(1);
      expect(meanAbsDiff(middle, after)).toBeGreaterThan(1);
    }

    // The 9:16 video really is portrait.
    const portrait = await client.video(second.video_id);
    const portraitPath = join(dir, "second.mp4");
    await client.download(portrait.final_video_url!, portraitPath);
    const p2 = (await ffprobe(portraitPath)).streams.find((s) => s.codec_type === "video")!;
    expect([p2.width, p2.height]).toEqual([576, 1024]);

    // A storyboard frame is a real image of the spec's size.
    const board = Buffer.from(await (await fetch(video.storyboard_images[0]!)).arrayBuffer());
    const meta = await sharp(board).metadata();
    expect([meta.width, meta.height]).toEqual([1024, 576]);
  }, 300_000);

  it("keeps R2 and D1 out of the Worker's process, in the storage host's, whose S3 API refuses unsigned requests", async () => {
    // An upload through the Worker: its R2 binding and D1 at work, whatever ran before.
    const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: "#336699" } }).png().toBuffer();
    const uploaded = await fetch(`${stack.workerUrl}/api/assets`, { method: "POST", headers: { authorization: `Bearer ${client.apiKey}`, "content-type": "image/png" }, body: new Uint8Array(png) });
    expect(uploaded.status).toBe(201);
    // The SQLite files each process tree holds open (/proc).
    const openFiles = (pid: number | null, plugin: "d1" | "r2") =>
      processTree(pid!).flatMap((p) => {
        try {
          return readdirSync(`/proc/${p.pid}/fd`).map((fd) => {
            try {
              return readlinkSync(`/proc/${p.pid}/fd/${fd}`);
            } catch {
              return "";
            }
          });
        } catch {
          return [];
        }
      }).filter((path) => path.includes(`/v3/${plugin}/`) && /[0-9a-f]{64}\.sqlite$/.test(path));
    const { worker, storage } = stack.pids();
    for (const plugin of ["d1", "r2"] as const) {
      expect(openFiles(storage, plugin), plugin).toHaveLength(1);
      expect(openFiles(worker, plugin), plugin).toEqual([]);
    }
    expect(servesStorage(stack.stateDir, "adreel-storage")).toBe(true);
    expect(servesStorage(stack.stateDir, "adreel")).toBe(false);
    // Miniflare's S3 endpoint refuses both. Its statuses are its own: R2's error codes
    // (developers.cloudflare.com/r2/api/error-codes, updated 2026-11-10) give missing or invalid
    // credentials as 401 Unauthorized (10002) and do not document the 400 InvalidArgument
    // "Authorization" Miniflare answers to a request with no signature at all.
    const unsigned = await fetch(`${stack.storageUrl}/cdn-cgi/local/r2/s3/${MEDIA_BUCKET}/videos/any.mp4`);
    expect(unsigned.status).toBe(400);
    expect(await unsigned.text()).toContain("<Code>InvalidArgument</Code>");
    const stranger = { accountId: "local", accessKeyId: "someone-else", secretAccessKey: "not-the-stack's", bucket: MEDIA_BUCKET, endpoint: `${stack.storageUrl}/cdn-cgi/local/r2/s3` };
    const forged = await fetch(await presignR2Url(stranger, "videos/any.mp4", "get", 60));
    expect(forged.status).toBe(401);
  });

  it("survives a Worker restart in the middle of the chunk phase", async () => {
    const { video_id } = await client.generate({ prompt: "Handmade leather boots for city hikers", duration_s: 15 });
    const deadline = Date.now() + 120_000;
    for (;;) {
      const s = await client.status(video_id);
      if (s.current_phase === "generating_chunks" || isEndStatus(s.status)) break;
      if (Date.now() > deadline) throw new Error("never reached the chunk phase");
      await new Promise((r) => setTimeout(r, 100));
    }
    const stoppedAt = Date.now();
    await stack.restartWorker();
    const trace = await follow(video_id, 240_000);
    const end = trace.at(-1)!;
    // It completes, or fails with a stated reason: never stays processing.
    expect(["complete", "failed"]).toContain(end.status);
    if (end.status === "failed") expect(end.error).toBeTruthy();
    else expect(end.progress).toBe(100);
    // The run's own clock says the Worker went down during the chunk phase: the phase began
    // before the stop and ended after it (nothing advances while the Worker is down).
    const { phases } = phaseTimeline(await fetchEventLog(client.baseUrl, client.apiKey, video_id));
    const chunkPhase = phases.find((p) => p.phase === "generating_chunks");
    expect(chunkPhase, phases.map((p) => p.phase).join(" → ")).toBeDefined();
    expect(chunkPhase!.startAt).toBeLessThanOrEqual(stoppedAt);
    expect(chunkPhase!.startAt + chunkPhase!.seconds * 1000).toBeGreaterThan(stoppedAt);
  }, 400_000);
});
