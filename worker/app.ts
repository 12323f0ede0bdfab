import type { Context } from "hono";
import type { z } from "zod";
import type { ErrorResponse } from "../contracts/api.ts";
import type { Principal } from "./auth/keys.ts";
import type { Config } from "./config.ts";

/** A video's run, as the Worker reaches it. */
export type VideoRunStub = ReturnType<Env["VIDEO_RUN"]["get"]>;

/** A named part of a request's Server-Timing (a token, as the header's grammar needs): `run`, the video's Durable Object call. */
export type TimedPart = "run";

/** `run` is set on routes about one of the caller's videos (api/router.ts `ownVideo`); `timedParts` holds the Server-Timing parts (api/server-timing.ts). */
export type AppEnv = { Bindings: Env; Variables: { principal: Principal; config: Config; run: VideoRunStub; timedParts: Map<TimedPart, number> } };
export type AppContext = Context<AppEnv>;

/** 422 naming the first offending field, in one shape for every route. */
export function invalid(c: Context, error: z.ZodError | { field: string; message: string }): Response {
  if ("issues" in error) {
    const issue = error.issues[0];
    const field = issue?.path.length ? issue.path.join(".") : "body";
    const message = issue?.message ?? "invalid";
    return c.json({ error: `${field}: ${message}`, field, issues: error.issues.slice(0, 10).map((i) => ({ field: i.path.join("."), message: i.message })) } satisfies ErrorResponse, 422);
  }
  return c.json({ error: `${error.field}: ${error.message}`, field: error.field } satisfies ErrorResponse, 422);
}

/**
 * Parse a JSON body within a size limit; a broken body is the client's problem (4xx), never a
 * 500. With `emptyIsObject`, a body of nothing but whitespace is `{}`.
 */
export async function jsonBody(c: Context, maxBytes: number, options: { emptyIsObject?: boolean } = {}): Promise<{ ok: true; value: unknown; raw: string } | { ok: false; response: Response }> {
  const declared = Number(c.req.header("content-length") ?? "0");
  if (declared > maxBytes) return { ok: false, response: c.json({ error: `body: larger than ${maxBytes} bytes`, field: "body" }, 413) };
  let raw: string;
  try {
    raw = await c.req.text();
  } catch {
    return { ok: false, response: c.json({ error: "body: could not be read", field: "body" }, 400) };
  }
  if (raw.length > maxBytes) return { ok: false, response: c.json({ error: `body: larger than ${maxBytes} bytes`, field: "body" }, 413) };
  if (options.emptyIsObject && raw.trim() === "") return { ok: true, value: {}, raw: "{}" };
  try {
    return { ok: true, value: JSON.parse(raw), raw };
  } catch {
    return { ok: false, response: c.json({ error: "body: not valid JSON", field: "body" }, 422) };
  }
}
