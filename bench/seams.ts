/**
 * Seams, continuity against composite: `tsx bench/seams.ts [--duration 30]`.
 *
 * The demo's prompt rendered twice in one run of the local stack (default settings, draft
 * models), once with each conditioning strategy, submitted together: the local planner is
 * deterministic, so both ads have the same beats, chunks and seams. For each: the stitch job's
 * own seam report (media-node `videos/seams`), the acceptance measures of issue 13 over every
 * frame of the final MP4 (bench/seam-analysis.ts), what measuring the seams adds to the stitch
 * job, and what the draft video model took per chunk.
 *
 * Chunks of at most 2 s (`MAX_CHUNK_FRAMES=48`, as test/seams.test.ts): with chunks as long as
 * Wan 2.2's clips the demo ad has one chunk per beat and no seam inside a beat to compare.
 */
import type { Conditioning, SeamScore } from "../contracts/api.ts";
import { draftPredictions, isMain, numberFlag, snapshotNote, withStack } from "./bench-stack.ts";
import { fetchEventLog } from "./event-log.ts";
import { invocation, loadAverage, machineParagraph } from "./machine.ts";
import { fetchMadeAd, type MadeAd } from "./made-ad.ts";
import { table, writeSection } from "./results-doc.ts";
import { decodeAd, doubleExposures, type JumpReport, withinBeatJumps } from "./seam-analysis.ts";
import { median } from "./stats.ts";

export const SECTION = "## Seams: continuity vs composite (bench/seams.ts)";
const PROMPT = "Launch of Aurora, a sleek matte-black smart water bottle that glows blue to remind busy professionals to drink, on a sunny city rooftop";
const STRATEGIES: Conditioning[] = ["continuity", "composite"];
/** 2 s at 24 fps: every beat of the demo's spec splits into several chunks. */
const CHUNK_FRAMES = 48;

interface Measured {
  conditioning: Conditioning;
  ad: MadeAd;
  jumps: JumpReport;
  ghosts: { judged: number; found: number };
  /** From the run's `stitching` phase (the stitch job is queued) to the stitch job's `done`, in the run's log. */
  stitchJobSeconds: number;
  /** Draft render seconds per chunk (the provider's predict_time), with and without an end image. */
  renders: { plain: number[]; withEnd: number[] };
}

const f2 = (v: number) => v.toFixed(2);
const withinBeat = (m: Measured) => (m.ad.stitch.seams?.seams ?? []).filter((s) => s.kind === "within_beat");
const transitions = (m: Measured) => (m.ad.stitch.seams?.seams ?? []).filter((s) => s.kind === "beat_transition");
const range = (values: number[]) => (values.length ? `${f2(Math.min(...values))}–${f2(Math.max(...values))}` : "–");

export async function seamsBench(duration: 15 | 30 | 60): Promise<string> {
  const loadBefore = loadAverage();
  const measured = await withStack({ vars: { MAX_CHUNK_FRAMES: String(CHUNK_FRAMES) } }, async ({ client, stack }) => {
    const ids = await Promise.all(
      STRATEGIES.map(async (conditioning) => {
        const { video_id } = await client.generate({ prompt: PROMPT, duration_s: duration, conditioning });
        const end = await client.watch(video_id, () => {}, 10 * 60_000);
        if (end.status !== "complete") throw new Error(`${conditioning}: video ${video_id} ended ${end.status}: ${end.error}`);
        console.error(`${conditioning}: ${video_id} complete`);
        return { conditioning, videoId: video_id };
      }),
    );
    const predictions = await draftPredictions(stack);
    const { mkdtemp, rm } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dir = await mkdtemp(join(tmpdir(), "bench-seams-"));
    try {
      const results: Measured[] = [];
      for (const { conditioning, videoId } of ids) {
        const ad = await fetchMadeAd(stack, client, client.apiKey, videoId, dir);
        const frames = await decodeAd(ad);
        const jumps = withinBeatJumps(ad, frames);
        const started = performance.now();
        const ghosts = await doubleExposures(ad, frames);
        console.error(`${conditioning}: ${ghosts.found.length}/${ghosts.judged} double exposures, judged in ${((performance.now() - started) / 1000).toFixed(1)} s`);
        const log = await fetchEventLog(client.baseUrl, client.apiKey, videoId);
        // Queueing and claiming a job emit no event: the phase change marks when the stitch was queued.
        const running = log.events.find((e) => e.type === "phase" && e.phase === "stitching");
        // The one-shot stitch done, or a progressive assembly's (the mux job's).
        const done = log.events.find((e) => e.type === "job" && ["stitch", "mux"].includes((e.job as { id: string }).id) && (e.job as { status: string }).status === "done");
        const chunkRenders = predictions.filter((p) => String(p.input?.start_image ?? "").includes(`/videos/${videoId}/`) && typeof p.metrics?.predict_time === "number");
        results.push({
          conditioning,
          ad,
          jumps,
          ghosts: { judged: ghosts.judged, found: ghosts.found.length },
          stitchJobSeconds: running && done ? (done.at - running.at) / 1000 : Number.NaN,
          renders: {
            plain: chunkRenders.filter((p) => !p.input?.last_image).map((p) => p.metrics!.predict_time!),
            withEnd: chunkRenders.filter((p) => p.input?.last_image).map((p) => p.metrics!.predict_time!),
          },
        });
      }
      return results;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  const [first] = measured;
  const summary = measured.map((m) => {
    const inside = withinBeat(m);
    const report = m.ad.stitch.seams!;
    return [
      `\`${m.conditioning}\``,
      String(inside.length),
      `${f2(Math.max(...m.jumps.seams.map((s) => s.ratio)))} (median step ${f2(m.jumps.medianStep)})`,
      range(inside.map((s) => s.jump_ratio)),
      range(inside.map((s) => s.ssim)),
      range(inside.map((s) => s.palette_delta_e)),
      `${inside.filter((s) => s.flagged).length} of ${inside.length}`,
      `${transitions(m).filter((s) => s.transition_delivered).length} of ${transitions(m).length}`,
      `${m.ghosts.found} of ${m.ghosts.judged}`,
      `${f2(m.ad.stitch.encode_seconds)} / ${f2(report.measure_seconds)} (${report.decoded_frames} frames) / ${f2(m.stitchJobSeconds)}`,
    ];
  });
  const bySeam = new Map<number, Partial<Record<Conditioning, SeamScore>>>();
  for (const m of measured) for (const seam of m.ad.stitch.seams!.seams) bySeam.set(seam.chunk_num, { ...bySeam.get(seam.chunk_num), [m.conditioning]: seam });
  const cell = (s: SeamScore | undefined) => (s ? `${s.ssim.toFixed(3)} / ${s.palette_delta_e.toFixed(1)} / ${s.jump_ratio.toFixed(2)}${s.flagged ? ` ⚠ ${s.flags.join(",")}` : ""}` : "–");
  const seamRows = [...bySeam.entries()].map(([chunk, seams]) => {
    const any = seams.continuity ?? seams.composite!;
    const where = any.kind === "within_beat" ? `inside beat ${any.beat_index}` : `into beat ${any.beat_index} (${any.transition.type}${any.transition.frames ? ` ${any.transition.frames}` : ""})`;
    return [`${chunk - 1} → ${chunk} @ ${any.at_frame}`, where, cell(seams.continuity), cell(seams.composite)];
  });
  const renders = measured.map((m) => `\`${m.conditioning}\`: ${m.renders.plain.length} chunks without an end image, median ${f2(median(m.renders.plain))} s${m.renders.withEnd.length ? `; ${m.renders.withEnd.length} with one, median ${f2(median(m.renders.withEnd))} s` : ""}`);

  return `${SECTION}

${machineParagraph(invocation(), loadBefore, snapshotNote())}
Workload: the demo's prompt as a ${duration} s 16:9 draft ad (${first!.ad.spec.beats.length} beats, ${first!.ad.plan.length} chunks), rendered twice at the same time on one stack with default settings but chunks of at most ${CHUNK_FRAMES / 24} s (\`MAX_CHUNK_FRAMES=${CHUNK_FRAMES}\`; the beats are timed for Wan 2.2's 5–7.5 s clips, so with chunks that long each beat is one chunk and there is no seam inside a beat to compare): \`conditioning: "continuity"\` (the default) and \`"composite"\` (seed 003's 70/30 blends). The planner is deterministic, so both have the same plan and the same seams.

Measures (definitions in media-node/video/seams.ts and bench/seam-analysis.ts): *jump* is the frame difference across a seam (mean |ΔY′| over the frame at 256 px) ÷ a step of the shot's own motion — in the "acceptance" column ÷ the median step inside all chunks of the ad (issue 13's criterion: ≤ 2), in the stitch report's columns ÷ the median of the 6 steps either side of the seam; SSIM and ΔE2000 of the palettes compare the frames either side; *double exposures*: frames (outside planned dissolves) that the detector (media-node/video/double-exposure.ts) finds better explained as a blend of two of their chunk's sources than by either alone.

${table(["conditioning", "seams inside beats", "acceptance: max jump ÷ median step", "stitch report: jump ratio", "SSIM", "palette ΔE", "flagged", "beat transitions as planned", "double-exposure frames", "stitch encode / seam measure / stitching phase to stitch done s"], summary)}

Every seam (SSIM / palette ΔE / local jump ratio, ⚠ flagged with the measures past their thresholds):

${table(["seam @ frame", "where", "continuity", "composite"], seamRows)}

- Measuring the seams runs after the stitch's encode, in the same job: the "seam measure" time (media-node's decode and measures; the download is extra) is what it adds to the stitch job.
- Draft video model per chunk (provider predict time): ${renders.join("; ")}.
`;
}

if (isMain(import.meta.url)) {
  const duration = numberFlag("duration", 30);
  if (![15, 30, 60].includes(duration)) throw new Error("--duration must be 15, 30 or 60");
  const section = await seamsBench(duration as 15 | 30 | 60);
  console.log(section);
  writeSection(SECTION, section);
}
