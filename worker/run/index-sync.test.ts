import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { createKey } from "../auth/keys.ts";
import { deliverWebhook, driveToChunks, driveToEnd, type Harness, predictionOf, queued, snapshot, startJob, submitRun } from "../../test/support/worker/run-driver.ts";
import type { Snapshot } from "./types.ts";

/** The D1 `videos` row (what listings read) follows the run at every step. */

let key: string;
beforeAll(async () => {
  key = (await createKey(env.DB, "tenant-index", "test")).key;
});

const created = (): Promise<Harness> => submitRun(key, "Noise-cancelling headphones for night-shift nurses");

async function indexed(h: Harness) {
  return env.DB.prepare("SELECT status, current_phase, progress, cost_usd, error, completed_at, final_key FROM videos WHERE id = ?").bind(h.videoId).first();
}

function expected(snap: Snapshot) {
  return {
    status: snap.status,
    current_phase: snap.phase,
    progress: snap.progress,
    cost_usd: snap.cost_usd,
    error: snap.error,
    completed_at: snap.completed_at,
    final_key: snap.status === "complete" ? `videos/${snap.video_id}/final.mp4` : null,
  };
}

describe("the D1 index", () => {
  it("matches the run after every step of a video, to completion", async () => {
    const h = await created();
    let checks = 0;
    const end = await driveToEnd(h, {
      afterStep: async (snap) => {
        expect(await indexed(h), `after ${checks} steps, in ${snap.phase}`).toEqual(expected(snap));
        checks++;
      },
    });
    expect(end.status).toBe("complete");
    expect(end.completed_at).not.toBeNull();
    expect(checks).toBeGreaterThan(10);
  });

  it("follows costs as predictions start, and records a failure's reason", async () => {
    const h = await created();
    await driveToChunks(h);
    const [chunk] = await queued(h, "chunk");
    await startJob(h, chunk!);
    const running = await snapshot(h);
    expect(await indexed(h)).toEqual(expected(running));
    for (let attempt = 1; attempt <= 3; attempt++) {
      if (attempt > 1) await startJob(h, chunk!);
      const { id } = await predictionOf(h, chunk!);
      h.double.finish(id, { status: "failed", error: "safety filter" });
      await deliverWebhook(h, id);
    }
    const failed = await snapshot(h);
    expect(failed.status).toBe("failed");
    expect(await indexed(h)).toEqual(expected(failed));
  });

  it("records a cancellation", async () => {
    const h = await created();
    await driveToChunks(h);
    await h.stub.cancel("cancelled by request");
    const snap = await snapshot(h);
    expect(await indexed(h)).toEqual({ ...expected(snap), status: "cancelled", error: "cancelled by request" });
  });
});
