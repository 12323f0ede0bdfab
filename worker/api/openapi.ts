import type { OpenAPIHono } from "@hono/zod-openapi";
import { CallbackNotification } from "../../contracts/api.ts";
import type { AppEnv } from "../app.ts";
import { componentSchemas, nameComponents } from "./components.ts";

/**
 * adreel's HTTP API as an OpenAPI 3.1 document, generated from the routes the app serves:
 * each route's `createRoute` description beside its handler, on the same zod schemas the
 * handlers validate and answer with, so the reference cannot drift from the code. This module
 * and the route modules stay free of `cloudflare:*` imports: Node tests and tools build the
 * document from the app directly.
 */

type Json = Record<string, unknown>;

export interface OpenApiOptions {
  /** The API's origin, e.g. `https://adreel.example.com`; omitted, the document names no server. */
  serverUrl?: string;
  version?: string;
}

const TAGS = [
  { name: "videos", description: "Start, inspect, list and cancel videos." },
  { name: "live", description: "Live progress over a WebSocket." },
  { name: "media", description: "Signed, expiring media URLs." },
  { name: "webhooks", description: "Called by the model provider." },
  { name: "admin", description: "API keys (admin token)." },
  { name: "meta", description: "Health and this reference." },
];

const SECURITY_SCHEMES = {
  apiKey: { type: "http", scheme: "bearer", description: "An API key (`adr_…`) as `Authorization: Bearer <key>`." },
  accessToken: { type: "apiKey", in: "query", name: "access_token", description: "The same API key in the query, for clients that cannot set headers (browser WebSockets)." },
  adminToken: { type: "http", scheme: "bearer", description: "The deployment's `ADMIN_TOKEN` secret." },
} as const;

const prepared = new WeakSet<object>();

/** What the document holds besides the routes: component names, security schemes and the callback adreel sends. */
function prepare(app: OpenAPIHono<AppEnv>): void {
  if (prepared.has(app)) return;
  prepared.add(app);
  const registry = app.openAPIRegistry;
  nameComponents();
  for (const [name, scheme] of Object.entries(SECURITY_SCHEMES)) registry.registerComponent("securitySchemes", name, scheme);
  registry.registerWebhook({
    method: "post",
    path: "videoEnded",
    operationId: "videoEnded",
    summary: "A video ended (sent to its callback_url)",
    description:
      "When a video given a `callback_url` completes, fails or is cancelled, adreel POSTs this to that URL, signed with the Standard Webhooks scheme (`webhook-id`, `webhook-timestamp`, `webhook-signature`: HMAC-SHA256 under the deployment's `CALLBACK_SECRET`). Answer 2xx within 10 s; anything else is retried with growing delays (5 s, 20 s, 80 s, …) a bounded number of times, with the same `webhook-id`, so deduplicate on it.",
    parameters: ["webhook-id", "webhook-timestamp", "webhook-signature"].map((name) => ({ name, in: "header" as const, required: true, schema: { type: "string" as const } })),
    request: { body: { required: true, content: { "application/json": { schema: CallbackNotification } } } },
    responses: { 200: { description: "Received." } },
  });
}

/** A router path as the document writes it: a regular-expression parameter (`{key{.+}}`) is just `{key}`. */
export function documentedPath(path: string): string {
  return path.replace(/\{(\w+)\{[^}]*\}\}/g, "{$1}").replace(/:(\w+)\{[^}]*\}/g, "{$1}").replace(/:(\w+)/g, "{$1}");
}

/** The OpenAPI 3.1 document of everything `app` serves. Pure: the same app and options give the same document. */
export function openApiDocument(app: OpenAPIHono<AppEnv>, options: OpenApiOptions = {}): Json {
  prepare(app);
  const config = {
    openapi: "3.1.0",
    info: {
      title: "adreel API",
      version: options.version ?? "0.1.0",
      summary: "A prompt in, a finished video ad out.",
      description:
        "adreel turns a text prompt (and optional brand assets) into a finished video ad: plan → 3 reference images → storyboard → video chunks → stitched with transitions → music → final MP4 (H.264 + AAC, 24 fps). Start a video with `POST /api/generate`, follow it over the live WebSocket (or poll its status), then download the final MP4 from its signed URL.",
    },
    ...(options.serverUrl ? { servers: [{ url: options.serverUrl }] } : {}),
    tags: TAGS,
  };
  // 3.1's `info.summary` is not in the generator's (3.0-shaped) config type; it is passed through as given.
  const generated = app.getOpenAPI31Document(config as Parameters<typeof app.getOpenAPI31Document>[0], { unionPreferredType: "oneOf" }) as unknown as Json & { paths: Record<string, Json> };
  const paths = Object.fromEntries(Object.entries(generated.paths).map(([path, operations]) => [documentedPath(path), operations]));
  const components = generated.components as Json & { schemas?: Json };
  return JSON.parse(JSON.stringify({ ...generated, paths, components: { ...components, schemas: { ...components.schemas, ...componentSchemas() } } })) as Json;
}

const served = new Map<string, Json>();

/** The document for `/openapi.json`, built once per server URL and isolate. */
export function servedOpenApiDocument(app: OpenAPIHono<AppEnv>, serverUrl: string): Json {
  let document = served.get(serverUrl);
  if (!document) served.set(serverUrl, (document = openApiDocument(app, { serverUrl })));
  return document;
}

/** The `/docs` page: a shell that loads the renderer (`public/docs.js`) and this document. */
export function docsPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>adreel API reference</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/docs.css">
</head>
<body>
  <noscript>This page renders <a href="/openapi.json">/openapi.json</a> with JavaScript.</noscript>
  <div id="reference" data-spec="/openapi.json"></div>
  <script type="module" src="/docs.js"></script>
</body>
</html>
`;
}
