import { createRoute } from "@hono/zod-openapi";
import { StatusResponse } from "../../../contracts/api.ts";
import { timedPart } from "../server-timing.ts";
import { API_KEY, apiResponses, jsonResponse, ownVideo, type RouteContext, UNKNOWN_VIDEO, VideoPath, videoNotFound } from "../router.ts";

export const statusRoute = createRoute({
  method: "get",
  path: "/status/{id}",
  operationId: "getStatus",
  tags: ["videos"],
  summary: "A video's status",
  description:
    "Status, phase, progress (0–100, never decreasing), estimated seconds remaining, the cost spent so far (never decreasing) with the estimate of what is still running beside it, and the error of a failed video. For live updates without polling, use the WebSocket route.",
  security: API_KEY,
  middleware: [ownVideo] as const,
  request: { params: VideoPath },
  responses: apiResponses({ 200: jsonResponse(StatusResponse, "The status."), 404: UNKNOWN_VIDEO }),
});

export async function status(c: RouteContext<typeof statusRoute>): Promise<Response> {
  const { id } = c.req.valid("param");
  // The run's own JSON of a StatusResponse (status-view.ts), sent as it is.
  const run = c.get("run");
  const status = await timedPart(c, "run", () => run.status());
  return status === null ? videoNotFound(c, id) : c.body(status, 200, { "content-type": "application/json" });
}
