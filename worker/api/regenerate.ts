import { and, eq, inArray, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { type ErrorResponse, RegenerateBeatRequest, type RegenerateBeatResponse } from "../../contracts/api.ts";
import { type AppContext, invalid, jsonBody } from "../app.ts";
import { videos } from "../db/schema.ts";
import type { RegenerateOutcome } from "../run/video-run.ts";
import { tooManyVideos } from "./limits.ts";
import { ownedRun } from "./videos.ts";

/** POST /api/video/{id}/beats/{n}/regenerate — re-render one beat of a complete video. */

const MAX_BODY = 16 * 1024;

export async function regenerateBeat(c: AppContext): Promise<Response> {
  const id = c.req.param("id")!;
  const n = c.req.param("n")!;
  const run = await ownedRun(c, id);
  if (!run) return c.json({ error: `video ${id} not found` } satisfies ErrorResponse, 404);
  if (!/^\d{1,3}$/.test(n)) return invalid(c, { field: "n", message: `beat ${JSON.stringify(n.slice(0, 20))} is not a beat index (0, 1, 2, …)` });
  // No body (or an empty one) keeps the beat's prompt.
  let value: unknown = {};
  if (c.req.header("content-length") !== "0" && c.req.raw.body) {
    const body = await jsonBody(c, MAX_BODY);
    if (!body.ok) {
      if (body.response.status !== 422) return body.response;
      // jsonBody's 422 is "not valid JSON": an empty body is not an error here.
      const raw = await c.req.text().catch(() => "x");
      if (raw.trim() !== "") return body.response;
    } else value = body.value;
  }
  const parsed = RegenerateBeatRequest.safeParse(value);
  if (!parsed.success) return invalid(c, parsed.error);
  const prompt = parsed.data.prompt ?? null;
  // A regenerating video is processing again, so it counts against the tenant's cap. Checked,
  // not reserved: two regenerations racing may pass one over the cap, never more.
  const tenant = c.get("principal").tenantId;
  const active = await drizzle(c.env.DB)
    .select({ n: sql<number>`count(*)` })
    .from(videos)
    .where(and(eq(videos.tenantId, tenant), inArray(videos.status, ["queued", "processing"])));
  if ((active[0]?.n ?? 0) >= c.get("config").maxConcurrentVideos) return tooManyVideos(c);
  const outcome = (await run.regenerateBeat(Number(n), prompt)) as RegenerateOutcome;
  if (!outcome.ok) return outcome.status === 422 ? invalid(c, { field: outcome.field ?? "n", message: outcome.error.replace(/^\w+: /, "") }) : c.json({ error: outcome.error } satisfies ErrorResponse, outcome.status);
  return c.json({ video_id: id, beat: Number(n), status: "processing", chunks: outcome.chunks, prompt: outcome.prompt } satisfies RegenerateBeatResponse, 202);
}
