import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import type { AppEnv } from "../app.ts";

/**
 * Cross-origin access to /api: any origin, a key in the headers. A preflight is answered by
 * Hono's cors middleware; every other request gets its one header before the route answers,
 * into the headers the route's response is built with. (Hono's middleware sets it on a
 * placeholder response instead, which every answer is then copied over from: the copies of
 * each Response were a measurable share of a status poll's CPU.)
 */
const ALLOW_ORIGIN = "access-control-allow-origin";

const preflight = cors({ origin: "*", allowHeaders: ["authorization", "content-type", "idempotency-key"], allowMethods: ["GET", "POST", "OPTIONS"], maxAge: 600 });

export const crossOrigin: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.req.method === "OPTIONS") return preflight(c, next);
  c.header(ALLOW_ORIGIN, "*");
  await next();
  // A route that answered a Response of its own (not built through the context) has not got it;
  // a WebSocket's 101 goes to no browser page's script.
  if (c.res.status !== 101 && !c.res.headers.has(ALLOW_ORIGIN)) c.header(ALLOW_ORIGIN, "*");
};
