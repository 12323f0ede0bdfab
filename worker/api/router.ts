import { OpenAPIHono, type RouteConfig, type RouteHandler, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { ErrorResponse, VideoId } from "../../contracts/api.ts";
import { type AppContext, type AppEnv, invalid, jsonBody, type VideoRunStub } from "../app.ts";
import { IsolateMemo, objectIdOf } from "../auth/isolate-memo.ts";
import { videos } from "../db/schema.ts";

/**
 * What every route file builds on: a router whose validation answers like every other 422 of
 * the API, the request-body guard, and the pieces of route documentation the routes share.
 * A route is `createRoute({...})` (its OpenAPI description, from the zod contracts) next to
 * its handler, registered with `router.openapi(route, handler)`; the document is generated
 * from what is registered (openapi.ts), so a route cannot be served undocumented.
 */

export type Router = OpenAPIHono<AppEnv>;

/** A router for one resource. An invalid path, query or body is a 422 naming the field (`{error, field, issues}`). */
export function router(): Router {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) return invalid(c, result.error);
    },
  });
}

/**
 * The JSON body, read once within `maxBytes`: larger is a 413, unreadable a 400, not JSON a
 * 422, all naming `body`; with `optional`, an empty body is `{}`. It is then handed on as JSON
 * whatever its content type said (clients such as `curl -d` never said), so the route's zod
 * schema validates what was sent.
 */
export function jsonBodyWithin(maxBytes: number, options: { optional?: boolean } = {}): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    let text: string;
    if (options.optional && (c.req.header("content-length") === "0" || !c.req.raw.body)) text = "{}";
    else {
      const body = await jsonBody(c, maxBytes, { emptyIsObject: options.optional });
      if (!body.ok) return body.response;
      text = body.raw;
    }
    const headers = new Headers(c.req.raw.headers);
    headers.set("content-type", "application/json");
    headers.delete("content-length");
    c.req.raw = new Request(c.req.raw.url, { method: c.req.raw.method, headers, body: text });
    c.req.bodyCache = {};
    await next();
  };
}

/** Videos this isolate has looked up, by id: their tenant. A video's tenant is set when it is created and never changes. */
const videoOwners = new IsolateMemo<string, string>(10_000);

/** The video the path names, when it is the caller's tenant's; null for an unknown id and for another tenant's alike. */
export async function ownedRun(c: AppContext, id: string): Promise<VideoRunStub | null> {
  if (!VideoId.safeParse(id).success) return null;
  let owner = videoOwners.get(id);
  if (owner === undefined) {
    const rows = await drizzle(c.env.DB).select({ tenantId: videos.tenantId }).from(videos).where(eq(videos.id, id)).limit(1);
    if (!rows[0]) return null;
    owner = rows[0].tenantId;
    videoOwners.set(id, owner);
  }
  if (owner !== c.get("principal").tenantId) return null;
  return c.env.VIDEO_RUN.get(objectIdOf(c.env.VIDEO_RUN, id));
}

export function videoNotFound(c: AppContext, id: string): Response {
  return c.json({ error: `video ${id} not found` } satisfies ErrorResponse, 404);
}

/**
 * Route middleware: the path's video must be the caller's, before anything else about the
 * request is judged (404 otherwise); its run is then `c.get("run")`.
 */
export const ownVideo: MiddlewareHandler<AppEnv> = async (c, next) => {
  const id = c.req.param("id") ?? "";
  const run = await ownedRun(c, id);
  if (!run) return videoNotFound(c, id);
  c.set("run", run);
  await next();
};

// ---------------------------------------------------------------- shared pieces of route documentation

/** Operations behind an API key (header, or `access_token` for browser WebSockets), or the admin token. */
export const API_KEY: Record<string, string[]>[] = [{ apiKey: [] }, { accessToken: [] }];
export const ADMIN_TOKEN: Record<string, string[]>[] = [{ adminToken: [] }];

export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } };
}

export function errorResponse(description: string) {
  return jsonResponse(ErrorResponse, description);
}

const RETRY_AFTER = { "retry-after": { description: "Seconds to wait.", schema: { type: "string" as const } } };

/**
 * An error answer with `Retry-After`: a 429 (which limits a route answers it for is in
 * `description`) or a 503 (an outage of ours, not the request's fault).
 */
export function retryAfterResponse(description: string) {
  return { ...errorResponse(description), headers: RETRY_AFTER };
}

/** What a 503 for an outage of ours (D1, R2, media-node unreachable) tells the caller to wait. */
export const OUTAGE_RETRY_AFTER_SECONDS = 2;

/** What a client is told when R2 (media storage) fails a request, whether the Worker or media-node met the failure. */
export const STORAGE_UNAVAILABLE_MESSAGE = "media storage is unavailable right now; try again shortly";

export const UNAUTHORIZED = errorResponse("No API key, or a revoked or unknown one.");
export const UNKNOWN_VIDEO = errorResponse("No such video for this tenant (another tenant's video is equally unknown).");

/** Every /api route needs a key and runs behind the per-key rate limit: 401 and 429 come with them. */
export function apiResponses<R extends Record<number, unknown>>(responses: R) {
  return {
    401: UNAUTHORIZED,
    429: retryAfterResponse("Too many requests: the key's per-minute request limit (`limit: rate_limit`). Wait `retry_after_seconds` (also the `Retry-After` header)."),
    ...responses,
  };
}

/** The `{id}` of a video route. Any string is accepted: one that is not a video's id names no video (404). */
export const VideoPath = z.object({
  id: z.string().openapi({ format: "uuid", description: "The video id from `POST /api/generate`.", param: { description: "The video id from `POST /api/generate`." } }),
});

/** The handler's context, with the route's validated path, query and body typed. */
export type RouteContext<R extends RouteConfig> = Parameters<RouteHandler<R, AppEnv>>[0];

/**
 * Serve `route` (documented by its createRoute config) with `handler`. Handlers answer plain
 * Responses through the API's shared helpers (`invalid`, `tooMany`, …); that every answer has a
 * documented status and shape is what worker/api/openapi.test.ts checks, against the app.
 */
export function serve<R extends RouteConfig>(on: Router, route: R, handler: (c: RouteContext<R>) => Promise<Response> | Response): void {
  on.openapi(route, handler as unknown as RouteHandler<R, AppEnv>);
}
