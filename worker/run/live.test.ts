import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { isEndStatus } from "../../contracts/api.ts";
import { LiveMessage, LiveSnapshot } from "../../contracts/live.ts";
import { createKey } from "../auth/keys.ts";
import { deliverWebhook, driveToChunks, driveToEnd, type Harness, submitRun, predictionOf, queued, runJob, startJob } from "../../test/support/worker/run-driver.ts";
import type { Snapshot } from "./types.ts";

/**
 * Live status over the video's hibernatable WebSockets, through the public route
 * (`GET /api/video/{id}/live` with `Upgrade: websocket`), while the run driver moves a real
 * run from submit to complete.
 */

interface Frame {
  id: number;
  type: string;
  phase?: string;
  progress?: number;
  status?: string;
  final_video_url?: string | null;
  snapshot?: { status: string; last_event: number } | null;
}

const ORDER = ["queued", "planning", "generating_references", "storyboarding", "generating_chunks", "stitching", "adding_music", "complete"];

const submit = (key: string): Promise<Harness> => submitRun(key, "A trail-running shoe that grips wet granite");

/** A viewer: the socket's frames as they arrive, and a promise of the terminal one. */
interface Viewer {
  frames: Frame[];
  ended: Promise<Frame>;
  socket: WebSocket;
}

async function watch(key: string, videoId: string, since?: number): Promise<Viewer> {
  const query = since === undefined ? "" : `?since=${since}`;
  const response = await exports.default.fetch(new Request(`http://adreel.test/api/video/${videoId}/live${query}`, { headers: { upgrade: "websocket", authorization: `Bearer ${key}` } }));
  expect(response.status).toBe(101);
  const socket = response.webSocket!;
  socket.accept();
  const frames: Frame[] = [];
  const ended = new Promise<Frame>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no terminal event within 20 s; got ${frames.map((f) => f.type).join(", ")}`)), 20_000);
    socket.addEventListener("message", (event) => {
      if (event.data === "pong") return;
      const frame = JSON.parse(event.data as string) as Frame;
      frames.push(frame);
      if (isEndStatus(frame.type)) {
        clearTimeout(timer);
        resolve(frame);
      }
    });
  });
  return { frames, ended, socket };
}

/** Wait (bounded) until the viewer has received `count` frames. */
async function frames(viewer: Viewer, count: number): Promise<Frame[]> {
  for (let i = 0; i < 200 && viewer.frames.length < count; i++) await new Promise((r) => setTimeout(r, 10));
  return viewer.frames;
}

let key: string;
beforeAll(async () => {
  key = (await createKey(env.DB, "tenant-live", "test")).key;
});

describe("the live WebSocket", () => {
  it("streams from submit to complete with monotone progress and every phase in order", async () => {
    const h = await submit(key);
    const viewer = await watch(key, h.videoId);
    const end = await driveToEnd(h);
    expect(end.status).toBe("complete");
    const last = await viewer.ended;
    expect(last).toMatchObject({ type: "complete", status: "complete", progress: 100 });
    expect(last.final_video_url).toContain(`/media/videos/${h.videoId}/final.mp4?`);
    const [first, ...events] = viewer.frames;
    expect(first!.type).toBe("snapshot");
    // Event ids strictly increase: a client can resume from any of them.
    const ids = events.map((e) => e.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
    const progress = viewer.frames.flatMap((f) => (typeof f.progress === "number" ? [f.progress] : []));
    expect(progress.length).toBeGreaterThan(10);
    for (let i = 1; i < progress.length; i++) expect(progress[i]!, `progress step ${i}: ${progress.join(", ")}`).toBeGreaterThanOrEqual(progress[i - 1]!);
    // Every phase, each announced once, in pipeline order (the snapshot tells the one it started in).
    const phases = events.filter((e) => e.type === "phase").map((e) => e.phase);
    expect(phases).toEqual(ORDER.slice(1, -1));
    const seen = [(first!.snapshot as { phase?: string } | null)?.phase, ...phases, last.phase];
    expect(seen).toEqual(ORDER);
    viewer.socket.close(1000, "done");
  });

  it("gives 50 concurrent viewers the same final event", async () => {
    // Its own key: 50 sockets are 50 requests against the per-key limit.
    const viewersKey = (await createKey(env.DB, "tenant-live", "viewers")).key;
    const h = await submit(key);
    const viewers = await Promise.all(Array.from({ length: 50 }, () => watch(viewersKey, h.videoId)));
    await driveToEnd(h);
    const finals = await Promise.all(viewers.map((v) => v.ended));
    expect(finals).toHaveLength(50);
    for (const final of finals) expect(final).toEqual(finals[0]);
    expect(finals[0]).toMatchObject({ type: "complete", status: "complete" });
    // And they all saw the same stream.
    const streams = viewers.map((v) => v.frames.slice(1).map((f) => f.id).join(","));
    expect(new Set(streams).size).toBe(1);
    for (const v of viewers) v.socket.close(1000, "done");
  });

  it("resumes after a reconnect with ?since=<id>, replaying only later events", async () => {
    const h = await submit(key);
    const first = await watch(key, h.videoId);
    await driveToEnd(h);
    await first.ended;
    first.socket.close(1000, "dropped");
    const all = first.frames.slice(1);
    const cut = all[Math.floor(all.length / 2)]!.id;
    const resumed = await watch(key, h.videoId, cut);
    const replay = await frames(resumed, 1 + all.filter((f) => f.id > cut).length);
    expect(replay[0]!.type).toBe("snapshot");
    expect(replay[0]!.snapshot!.status).toBe("complete");
    // Exactly the events after `cut`, in order, the same as seen live.
    expect(replay.slice(1)).toEqual(all.filter((f) => f.id > cut));
    expect(replay.slice(1).every((f) => f.id > cut)).toBe(true);
    expect(replay.at(-1)!.type).toBe("complete");
    resumed.socket.close(1000, "done");
  });

  it("replays the whole log with ?since=0, from the first event; without `since`, only the snapshot", async () => {
    const h = await submit(key);
    const live = await watch(key, h.videoId);
    await driveToEnd(h);
    await live.ended;
    live.socket.close(1000, "done");
    const all = live.frames.slice(1);
    const last = all.at(-1)!.id;
    const fromStart = await watch(key, h.videoId, 0);
    const replay = await frames(fromStart, 1 + last);
    expect(replay[0]!.type).toBe("snapshot");
    // Every event from the first (`queued`, before the live viewer connected) to the end, as the live viewer saw those it saw.
    expect(replay.slice(1).map((f) => f.id)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    expect(replay[1]).toMatchObject({ id: 1, type: "queued" });
    expect(replay.slice(1 + last - all.length)).toEqual(all);
    fromStart.socket.close(1000, "done");
    const plain = await watch(key, h.videoId);
    await frames(plain, 1);
    plain.socket.send("ping");
    // The ping's answer comes after anything replayed would have: a snapshot, then nothing.
    await new Promise<void>((resolve) => plain.socket.addEventListener("message", (e) => e.data === "pong" && resolve()));
    expect(plain.frames.map((f) => f.type)).toEqual(["snapshot"]);
    plain.socket.close(1000, "done");
  });
});

/** The provider fails the job's current prediction, reported by webhook. */
async function failPrediction(h: Harness, jobId: string, error: string): Promise<void> {
  await startJob(h, jobId);
  const { id } = await predictionOf(h, jobId);
  h.double.finish(id, { status: "failed", error });
  await deliverWebhook(h, id);
}

// The run's Snapshot type is written in run/types.ts: this fails to compile if it stops fitting the contract.
const snapshotFitsContract = (snapshot: Snapshot): LiveSnapshot => snapshot;
void snapshotFitsContract;

/**
 * Every frame parses with LiveMessage. Event schemas are strict objects and nothing in them is
 * transformed, so an event that parses and comes out equal has exactly the documented fields.
 */
function expectContract(frames: readonly unknown[]): LiveMessage[] {
  return frames.map((frame, i) => {
    const parsed = LiveMessage.safeParse(frame);
    expect(parsed.success, `frame ${i} ${JSON.stringify(frame).slice(0, 400)}: ${parsed.error?.message}`).toBe(true);
    const message = parsed.data!;
    if (message.type !== "snapshot") expect(message).toEqual(frame);
    else if (message.snapshot) {
      const raw = (frame as { snapshot: Record<string, unknown> }).snapshot;
      for (const key of Object.keys(raw)) expect(key in LiveSnapshot.shape, `snapshot field ${key} is not in contracts/live.ts`).toBe(true);
    }
    return message;
  });
}

describe("the live contract (contracts/live.ts)", () => {
  it("holds for every frame of a complete run with a retried chunk, live and replayed", async () => {
    const h = await submit(key);
    const viewer = await watch(key, h.videoId);
    await driveToChunks(h);
    const [flaky] = await queued(h, "chunk");
    await failPrediction(h, flaky!, "CUDA out of memory");
    expect((await driveToEnd(h)).status).toBe("complete");
    await viewer.ended;
    const messages = expectContract(viewer.frames);
    // The stored log as the run replays it, which also has `queued` (emitted before any socket could connect).
    const log = (await h.stub.events(0)) as unknown as { id: number; type: string; at: number; data: object }[];
    expect(log.map((e) => e.id)).toEqual([1, ...viewer.frames.slice(1).map((f) => f.id)]);
    const types = new Set([...messages, ...expectContract(log.map((e) => ({ id: e.id, type: e.type, at: e.at, ...e.data })))].map((m) => m.type));
    for (const type of ["snapshot", "queued", "phase", "progress", "job", "job_retry", "spec", "reference_images_ready", "complete"]) expect(types, type).toContain(type);
    // The local planner's notes go out under their own types.
    expect(messages.some((m) => m.type === "archetype_inferred" || m.type === "archetype_forced")).toBe(true);
    const retry = messages.find((m) => m.type === "job_retry");
    expect(retry).toMatchObject({ job: { id: flaky, attempt: 2, status: "ready" }, reason: expect.stringContaining("CUDA out of memory") });
    // What a reconnecting client replays from the stored log is held to the same contract.
    const replay = await watch(key, h.videoId, 1);
    expectContract(await frames(replay, viewer.frames.length));
    expect(replay.frames.slice(1)).toEqual(viewer.frames.slice(1));
    viewer.socket.close(1000, "done");
    replay.socket.close(1000, "done");
  });

  it("holds for every frame of a run that fails, and for the snapshot of the ended run", async () => {
    const h = await submit(key);
    const viewer = await watch(key, h.videoId);
    await driveToChunks(h);
    const [doomed] = await queued(h, "chunk");
    for (const reason of ["bad frame", "bad frame again", "still bad"]) await failPrediction(h, doomed!, reason);
    const last = await viewer.ended;
    expect(last).toMatchObject({ type: "failed", status: "failed", phase: "failed", final_video_url: null });
    const messages = expectContract(viewer.frames);
    expect(messages.filter((m) => m.type === "job_retry")).toHaveLength(2);
    expect(messages.find((m) => m.type === "job" && m.job.id === doomed && m.job.status === "failed")).toBeDefined();
    // A client connecting after the end gets the whole run in one snapshot frame.
    const late = await watch(key, h.videoId);
    const [snapshot] = expectContract(await frames(late, 1));
    expect(snapshot).toMatchObject({ type: "snapshot", snapshot: { status: "failed", last_event: last.id } });
    viewer.socket.close(1000, "done");
    late.socket.close(1000, "done");
  });
});
