import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { type Harness, driveToChunks, driveToEnd, elapse, jobOf, rows, newRun, normalizeChunk, outputFor, publishFrame, queued, runJob, snapshot, startJob, succeed } from "../../test/support/worker/run-driver.ts";
import type { ClaimedJob } from "../steps/step.ts";
import type { SoundtrackOutput } from "../steps/voice.ts";
import type { AssembleInput, OverlaysOutput } from "../steps/assembly.ts";
import type { ChunkOutput } from "../chunks/output.ts";
import { type ChunkPlan, stitchKeyframes } from "../chunks/plan.ts";
import { chunkDecorations, decorationsRevision } from "../chunks/decorations.ts";
import { mergeRanges } from "../../lib/stitch-plan.ts";
import { markedFrames } from "./assembly.ts";
import { mediaKeys } from "../media/keys.ts";

/**
 * After the last chunk (issue 16): its normalize pass waits for the decorations when they are
 * not known yet (decorations-wait.ts), and the final assembly it makes ready is handed to the
 * consumer that reported it (consumer-protocol.ts `jobDone` with `handOff`), no queue hop.
 */

/** Every chunk rendered and published, each normalized as soon as it is unless `publishOnly`; answers the chunks whose normalize claim was refused. */
async function renderChunks(h: Harness, publishOnly = false): Promise<{ parked: string[]; order: string[] }> {
  const parked: string[] = [];
  const order: string[] = [];
  for (let wave = 0; wave < 50; wave++) {
    const ids = await queued(h, "chunk");
    if (ids.length === 0) break;
    for (const id of ids) {
      await startJob(h, id);
      await succeed(h, id);
      await publishFrame(h, id);
      order.push(id);
      if (!publishOnly && !(await normalizeChunk(h, id))) parked.push(id);
    }
  }
  return { parked, order };
}

/** Up to the chunks, as a run gets there: the copy's layers are rendered beside the storyboard, long before any chunk. */
async function toChunks(h: Harness, options: { music?: boolean; voice?: boolean } = {}): Promise<void> {
  await driveToChunks(h, options);
  await runJob(h, "overlays");
}

/** The soundtrack's jobs (music, then the mix) run to done. */
async function mixSoundtrack(h: Harness): Promise<void> {
  for (let round = 0; round < 10; round++) {
    const ids = (await snapshot(h)).jobs.filter((j) => j.status === "queued" && (j.kind === "music" || j.kind === "voice" || j.kind === "soundtrack")).map((j) => j.id);
    if (ids.length === 0) return;
    for (const id of ids) await runJob(h, id);
  }
}

describe("the last chunk", () => {
  it("waits to be normalized until the voice is timed (every line's speech measured, the mix not needed), and its pass then draws the decorations; no earlier chunk waits", async () => {
    const h = await newRun();
    await toChunks(h, { voice: false });
    expect((await snapshot(h)).spec!.copy.captions).toBe("burned");
    const { parked, order } = await renderChunks(h);
    // Only the chunk whose normalize came last, with every other chunk done, was parked.
    expect(parked).toEqual([order.at(-1)]);
    const last = parked[0]!;
    const snap = await snapshot(h);
    expect(snap.jobs.filter((j) => j.kind === "chunk" && j.id !== last).every((j) => j.status === "done")).toBe(true);
    expect((await jobOf(h, last)).status).toBe("normalizing");
    // Asked again while the mix has not run: parked again, nothing lost.
    expect(await h.stub.claim(last, 1, "normalize")).toBeNull();
    // A soundtrack slower than the lease: the alarm renews it, neither re-sending the step nor telling of a lost worker.
    await elapse(h, h.config.jobLeaseMs + 1000);
    await runDurableObjectAlarm(h.stub);
    const [lease] = await rows<{ lease_until: number }>(h, "SELECT lease_until FROM jobs WHERE id = ?", last);
    expect(lease!.lease_until).toBeGreaterThan(Date.now());
    const warnings = await rows<{ data: string }>(h, "SELECT data FROM events WHERE type = 'warning'");
    // (The music, left queued by this test's driver, is re-sent: its message really went nowhere.)
    expect(warnings.filter((w) => w.data.includes("re-sent") && w.data.includes(last))).toEqual([]);
    // Every line's speech measured: the voice is timed, the music and the mix still to come.
    for (const id of await queued(h, "voice")) await runJob(h, id);
    expect((await snapshot(h)).jobs.some((j) => j.id === "soundtrack")).toBe(false);
    const claimed = (await h.stub.claim(last, 1, "normalize")) as ClaimedJob | null;
    expect(claimed).not.toBeNull();
    await mixSoundtrack(h);
    const end = await snapshot(h);
    const cues = (end.outputs.soundtrack as SoundtrackOutput).voiceover!.cues;
    expect(cues.length).toBeGreaterThan(0);
    // The pass is handed every decoration as known then: the layers and the cues, the mix's own.
    expect(claimed!.decorations).toEqual({ overlays: (end.outputs.overlays as OverlaysOutput).layers, cues });
    expect(claimed!.cues).toEqual(cues);
    await h.stub.jobDone(last, 1, outputFor(h, claimed!));
    expect((await driveToEnd(h)).status).toBe("complete");
  });

  it("is not parked when the decorations are known, nor when the run stitches after all", async () => {
    const known = await newRun();
    await toChunks(known, { music: true });
    expect((await jobOf(known, "soundtrack")).status).toBe("done");
    expect((await renderChunks(known)).parked).toEqual([]);
    expect((await driveToEnd(known)).status).toBe("complete");

    const afterAll = await newRun({ config: { assembly: "after_all" } });
    await driveToChunks(afterAll);
    expect((await renderChunks(afterAll)).parked).toEqual([]);
    expect((await driveToEnd(afterAll)).status).toBe("complete");
  });

  it("hands the final assembly it makes ready to the consumer that reports it done, claimed and running; without the offer it is queued", async () => {
    for (const handOff of [true, false]) {
      const h = await newRun();
      await toChunks(h, { music: true });
      const { order } = await renderChunks(h, true);
      // Every chunk but the last is normalized; the windows they made ready rendered, the seams measured.
      const last = order.at(-1)!;
      for (const id of order.slice(0, -1)) expect(await normalizeChunk(h, id)).toBe(true);
      for (let round = 0; round < 20; round++) {
        const ids = (await queued(h)).filter((id) => id !== last);
        if (ids.length === 0) break;
        for (const id of ids) await runJob(h, id);
      }
      expect((await jobOf(h, last)).status).toBe("normalizing");
      const claimed = (await h.stub.claim(last, 1, "normalize")) as ClaimedJob | null;
      if (!claimed) throw new Error(`${last}: its normalize claim was refused with the decorations known`);
      const next = (await h.stub.jobDone(last, claimed.job.attempt, outputFor(h, claimed), handOff)) as ClaimedJob | null;
      const mux = await jobOf(h, "mux");
      if (!handOff) {
        expect(next).toBeNull();
        expect(mux.status).toBe("queued");
        continue;
      }
      expect(next?.job).toMatchObject({ id: "mux", kind: "mux", attempt: 1 });
      expect((next!.job.input as AssembleInput).assemble).toBe(true);
      expect(mux.status).toBe("running");
      await h.stub.jobDone("mux", 1, outputFor(h, next!));
      expect((await driveToEnd(h)).status).toBe("complete");
    }
  });

  it("renders the windows it leaves in its own pass: its claim hands them over, and the assembly renders none the pass rendered with the decorations drawn there now", async () => {
    /** Every chunk but the last normalized, their windows and seams done; the last one's pass claimed. */
    const upToLast = async () => {
      const h = await newRun();
      await toChunks(h, { music: true });
      const { order } = await renderChunks(h, true);
      // The last one a chunk with a blended transition: a window its pass cannot draw.
      const plans = await rows<{ id: string; input: string }>(h, "SELECT id, input FROM jobs WHERE kind = 'chunk'");
      const last = plans.find((c) => ((JSON.parse(c.input) as ChunkPlan).seam_in?.frames ?? 0) > 0)!.id;
      for (const id of order.filter((id) => id !== last)) expect(await normalizeChunk(h, id)).toBe(true);
      for (let round = 0; round < 20; round++) {
        const ids = (await queued(h)).filter((id) => id !== last);
        if (ids.length === 0) break;
        for (const id of ids) await runJob(h, id);
      }
      const claimed = (await h.stub.claim(last, 1, "normalize")) as ClaimedJob | null;
      if (!claimed) throw new Error(`${last}: its normalize claim was refused with the decorations known`);
      return { h, last, claimed };
    };
    /** The last chunk done, its pass having drawn the decorations on its own frames (as media-node reports them) and rendered `windows`: the final assembly's input. */
    const assembleAfter = async (run: Awaited<ReturnType<typeof upToLast>>, windows: Partial<ChunkOutput>) => {
      const plan = run.claimed.job.input as ChunkPlan;
      const fps = run.claimed.video.spec!.fps;
      const drawn = chunkDecorations(run.claimed.decorations!, plan, fps)!;
      const frames = mergeRanges(markedFrames(drawn, fps)).map((r) => ({ from: r.from - plan.video_start_frame, to: r.to - plan.video_start_frame }));
      const decorated = { frames, revision: decorationsRevision(drawn, fps) };
      // Keyframes where the pass forces them, each cue's end among them.
      const keyframes = [...new Set([0, ...stitchKeyframes(plan, run.claimed.video.spec!, run.claimed.cues)])].sort((a, b) => a - b);
      const next = (await run.h.stub.jobDone(run.last, 1, { ...(outputFor(run.h, run.claimed) as ChunkOutput), keyframes, decorated, ...windows }, true)) as ClaimedJob | null;
      expect(next?.job.id).toBe("mux");
      return { input: next!.job.input as AssembleInput, mux: next! };
    };

    const plain = await upToLast();
    const given = plain.claimed.windows!;
    expect(given.chunk).toBe(plain.claimed.job.idx);
    // Its neighbours are read from their stored files; the chunk itself is the pass's output.
    expect(given.chunks[given.chunk]!.key).toBeNull();
    expect(given.chunks.some((c) => c.key !== null)).toBe(true);
    // Not rendered in the pass: the assembly renders them.
    const left = (await assembleAfter(plain, {})).input.render;
    expect(left.length).toBeGreaterThan(0);

    const rendered = await upToLast();
    const keys = left.map((_, n) => mediaKeys.chunkWindow(rendered.h.videoId, rendered.claimed.job.idx, n));
    const windows = left.map((w, n) => ({ ...w, key: keys[n]! }));
    const { input, mux } = await assembleAfter(rendered, { windows, windows_drawing: rendered.claimed.windows!.decorations, windows_read: rendered.claimed.windows!.read });
    expect(input.render).toEqual([]);
    expect(input.windows).toEqual(expect.arrayContaining(windows));
    await rendered.h.stub.jobDone("mux", 1, outputFor(rendered.h, mux));
    expect((await driveToEnd(rendered.h)).status).toBe("complete");

    // Drawn with other decorations than the run draws there now (a layer over every frame): unused.
    const stale = await upToLast();
    const everywhere = { key: "videos/x/overlays/other.png", from_frame: 0, to_frame: stale.claimed.video.spec!.total_frames };
    const staleInput = (await assembleAfter(stale, { windows, windows_drawing: { ...stale.claimed.windows!.decorations, overlays: [everywhere] } })).input;
    expect(staleInput.render).toEqual(left);

    // Rendered from a neighbour that has been rendered again since (another attempt: a regenerated beat): unused.
    const older = await upToLast();
    expect(older.claimed.windows!.read.length).toBeGreaterThan(0);
    const read = older.claimed.windows!.read.map((r) => ({ ...r, attempt: r.attempt + 1 }));
    const olderInput = (await assembleAfter(older, { windows, windows_drawing: older.claimed.windows!.decorations, windows_read: read })).input;
    expect(olderInput.render).toEqual(left);
  });

  it("is handed off only to a consumer of the media queue: the last voice line's report leaves the windows it makes ready queued", async () => {
    const h = await newRun();
    await toChunks(h, { voice: false });
    expect((await renderChunks(h)).parked).toHaveLength(1);
    // The voice untimed, no window is planned yet; the last line's speech measured makes them ready.
    expect((await queued(h)).some((id) => id.startsWith("stitch:"))).toBe(false);
    const lines = await queued(h, "voice");
    for (const id of lines.slice(0, -1)) await runJob(h, id);
    expect((await queued(h)).some((id) => id.startsWith("stitch:"))).toBe(false);
    const line = lines.at(-1)!;
    await startJob(h, line);
    await succeed(h, line);
    const ingest = (await h.stub.claim(line, 1, "ingest")) as ClaimedJob | null;
    if (!ingest) throw new Error(`${line}: its ingest was not claimable`);
    expect(await h.stub.jobDone(line, 1, outputFor(h, ingest), true)).toBeNull();
    const windows = (await snapshot(h)).jobs.filter((j) => j.id.startsWith("stitch:"));
    expect(windows.length).toBeGreaterThan(0);
    expect(windows.every((j) => j.status === "queued")).toBe(true);
    expect((await driveToEnd(h)).status).toBe("complete");
  });
});
