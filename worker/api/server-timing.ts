import type { MiddlewareHandler } from "hono";
import type { AppContext, AppEnv, TimedPart } from "../app.ts";

/**
 * `Server-Timing` on the Worker's answers: `app` is the Worker's own time on the request, from
 * its first middleware to its answer's headers, and named parts of it (`run`: the video's
 * Durable Object call) are listed beside it. A client that sees a slow answer with a fast `app`
 * waited before or after the Worker ran (its thread busy with other work, the network); a slow
 * `app` did the work — the load bench tells the two apart with it.
 */

export const serverTiming: MiddlewareHandler<AppEnv> = async (c, next) => {
  const started = performance.now();
  const parts = new Map<TimedPart, number>();
  c.set("timedParts", parts);
  await next();
  // An upgrade's answer (a WebSocket from the video's Durable Object) has headers that cannot change, and no timing to give.
  if (c.res.status === 101) return;
  const entries = [`app;dur=${(performance.now() - started).toFixed(1)}`, ...[...parts].map(([name, ms]) => `${name};dur=${ms.toFixed(1)}`)];
  c.res.headers.append("server-timing", entries.join(", "));
};

/** `work`, its duration kept as `part` of the request's Server-Timing. */
export async function timedPart<T>(c: AppContext, part: TimedPart, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    const parts = c.get("timedParts");
    parts?.set(part, (parts.get(part) ?? 0) + performance.now() - started);
  }
}
