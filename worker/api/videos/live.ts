import { createRoute, z } from "@hono/zod-openapi";
import type { ErrorResponse } from "../../../contracts/api.ts";
import { API_KEY, apiResponses, errorResponse, ownedRun, type RouteContext, UNKNOWN_VIDEO, VideoPath, videoNotFound } from "../router.ts";

export const liveRoute = createRoute({
  method: "get",
  path: "/video/{id}/live",
  operationId: "watchVideo",
  tags: ["live"],
  summary: "Follow a video live (WebSocket)",
  description:
    'Open with `GET` and `Upgrade: websocket`. Browsers cannot set headers on a WebSocket, so the key may be passed as `access_token` in the query. The first frame is always `{type: "snapshot", snapshot}` with the whole run; then every event follows as it happens: `phase`, `progress` (with `cost_usd`, the spend so far, which never decreases; `cost_pending_usd`, the estimate of what still runs; and `estimated_time_remaining`), `job` (a job changed status; a finished chunk, storyboard frame or reference carries a signed `preview_url`), `spec`, `reference_images_ready` ("Using these 3 reference images…", with the images, and any that could not be made under `missing`; the video goes on without them), `warning`, and finally `complete` (with `final_video_url`), `failed` or `cancelled`. After a dropped connection, reconnect with `since` = the last `id` received (the snapshot\'s counts) to replay what was missed; `since=0` replays the whole log. Send the text `ping` to get `pong` (keep-alive).',
  security: API_KEY,
  // Documented, not validated: a request that is not an upgrade is answered 426 by the handler.
  parameters: [{ name: "Upgrade", in: "header", required: true, description: "Must be `websocket`.", schema: { type: "string", const: "websocket" } }],
  request: {
    params: VideoPath,
    query: z.object({
      since: z.coerce
        .number()
        .int()
        .min(0)
        .optional()
        // Said outright: the generator takes a coerced number for nullable (null coerces to 0).
        .openapi({ type: "integer", minimum: 0, param: { description: "Replay the events after this id, after the snapshot (0: the whole log). Without it, only the snapshot and what happens next." } }),
    }),
  },
  responses: apiResponses({
    101: { description: "Switching protocols: the socket is open. Server frames are JSON text, each a `LiveMessage`." },
    404: UNKNOWN_VIDEO,
    422: errorResponse("`since` is not an event id; `field` names it."),
    426: errorResponse("The request was not a WebSocket upgrade."),
  }),
  "x-websocket": { client: "the text `ping` (answered with `pong`)", server: { $ref: "#/components/schemas/LiveMessage" } },
});

export async function live(c: RouteContext<typeof liveRoute>): Promise<Response> {
  const { id } = c.req.valid("param");
  if (c.req.header("upgrade") !== "websocket") return c.json({ error: "expected a WebSocket upgrade" } satisfies ErrorResponse, 426);
  const run = await ownedRun(c, id);
  if (!run) return videoNotFound(c, id);
  // Without `since` a viewer gets the snapshot and then the live stream; with it (0: the whole log) the events after it first.
  const { since } = c.req.valid("query");
  return run.fetch(new Request(`https://run/live${since === undefined ? "" : `?since=${since}`}`, { headers: { upgrade: "websocket" } }));
}
