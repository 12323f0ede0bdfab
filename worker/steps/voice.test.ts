import { describe, expect, it } from "vitest";
import { PrepareMusicRequest } from "../../contracts/media.ts";
import { spokenLines } from "../../contracts/spec.ts";
import { MediaNodeStandIn } from "../../test/support/media-node-stand-in.ts";
import { claim, driveToChunks, jobOf, newRun, queued, runJob, snapshot } from "../../test/support/worker/run-driver.ts";
import { mediaNode } from "../media/media-node.ts";
import { soundtrackSteps, type VoiceOutput } from "./voice.ts";

/**
 * Each voice line is trimmed once (issue 16): its voice job keeps where media-node's audio/speech
 * found its speech (`VoiceOutput.span`), and the soundtrack job hands that to the mix
 * (`VoicePhrase.speech`), which cuts the speech there instead of trimming the line again.
 */

describe("the soundtrack step", () => {
  it("hands the mix each line's speech span as its voice job kept it, in a request media-node's contract accepts", async () => {
    const h = await newRun();
    await driveToChunks(h);
    for (const id of await queued(h, "music")) await runJob(h, id);
    expect((await jobOf(h, "soundtrack")).status).toBe("queued");
    const standIn = new MediaNodeStandIn(h.config.mediaNodeSecret);
    const deps = { ...h.deps, media: mediaNode("http://media-node.test", h.config.mediaNodeSecret, async (input, init) => standIn.handle(new Request(input, init))) };

    const claimed = await claim(h, "soundtrack", "start");
    const outcome = await soundtrackSteps.start(deps, claimed);
    expect(outcome.kind).toBe("done");
    const snap = await snapshot(h);
    const lines = snap.jobs
      .filter((j) => j.kind === "voice")
      .sort((a, b) => a.idx - b.idx)
      .map((j) => snap.outputs[j.id] as VoiceOutput);
    expect(lines.length).toBe(spokenLines(claimed.video.spec!).length);
    expect(lines.every((l) => l.span !== undefined)).toBe(true);
    const [request] = standIn.requests;
    expect(request?.path).toBe("/v1/media/audio/prepare");
    const sent = PrepareMusicRequest.parse(request!.body);
    expect(sent.voiceover!.phrases.map((p) => p.speech)).toEqual(lines.map((l) => l.span));
  });
});
