import { createReadStream } from "node:fs";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { z } from "zod";
import { CreatePredictionBody } from "../contracts/prediction.ts";
import { constantTimeEqual } from "../contracts/signing.ts";
import { malform } from "./faults.ts";
import type { ModelCatalog } from "./catalog.ts";
import { DRAFT_CATALOG } from "./models.ts";
import { REPLICATE_CATALOG } from "./emulator.ts";
import { DraftKnobsPatch, type DraftSettings } from "./options.ts";
import { DraftProvider, InvalidCursor } from "./provider.ts";

/**
 * adreel's draft model server: Replicate's predictions HTTP API (served by server.ts), so the
 * Worker's Replicate client runs unchanged against it (only base URL and token differ).
 *
 *   POST /v1/predictions                          {version, input, webhook?, webhook_events_filter?}
 *   POST /v1/models/{owner}/{name}/predictions    {input, webhook?, webhook_events_filter?}
 *   GET  /v1/predictions[?cursor=]   GET /v1/predictions/{id}   POST /v1/predictions/{id}/cancel
 *   GET  /v1/models/{owner}/{name}   GET /v1/webhooks/default/secret
 *   GET|POST /v1/_draft/config       fault knobs (see options.ts)
 *   GET  /v1/_draft/requests         every create request: route, model, input, validation result
 *   GET  /v1/files/{name}            rendered outputs, no token (like replicate.delivery)
 *
 * Every route but files needs `Authorization: Bearer <token>`. Errors are Replicate's problem
 * JSON: {title, detail, status} (+ invalid_fields on 422).
 */

/** Longest `Prefer: wait=N` honoured, as on Replicate. */
const MAX_WAIT_SECONDS = 60;

interface Problem {
  title: string;
  detail: string;
  status: number;
  invalid_fields?: { type: string; field: string; description: string }[];
}

function problem(reply: FastifyReply, status: number, title: string, detail: string, extra: Partial<Problem> = {}) {
  return reply.code(status).type("application/problem+json").send({ title, detail, status, ...extra });
}

function invalid(reply: FastifyReply, issues: z.core.$ZodIssue[], prefix: string[]) {
  const fields = issues.map((issue) => ({
    type: issue.code,
    field: [...prefix, ...issue.path.map(String)].join("."),
    description: issue.message,
  }));
  return problem(reply, 422, "Input validation failed", fields.map((f) => `- ${f.field}: ${f.description}`).join("\n"), { invalid_fields: fields });
}

/** `Prefer: wait` → 60 s, `Prefer: wait=N` → N (1..60); other preferences are ignored. */
export function preferredWaitSeconds(header: string | string[] | undefined): number {
  const value = Array.isArray(header) ? header.join(",") : (header ?? "");
  const match = /(?:^|[\s,;])wait(?:\s*=\s*(\d+))?(?=$|[\s,;])/i.exec(value);
  if (!match) return 0;
  return match[1] === undefined ? MAX_WAIT_SECONDS : Math.max(1, Math.min(MAX_WAIT_SECONDS, Number(match[1])));
}

export function registerDraftModels(app: FastifyInstance, config: DraftSettings): { close(): Promise<void> } {
  if (!config.token) throw new Error("draft model server needs a token");
  const provider = new DraftProvider(config, (message) => app.log.warn(message));
  // Emulate mode serves the real default models under their published contracts (emulator.ts).
  const catalog: ModelCatalog = config.emulate === "replicate" ? REPLICATE_CATALOG : DRAFT_CATALOG;
  const configuredBase = config.publicUrl.replace(/\/+$/, "");
  // Without a configured public URL (tests on an ephemeral port) URLs follow the Host header.
  const baseUrl = (request: FastifyRequest) => configuredBase || `${request.protocol}://${request.headers.host}`;

  const authorized = (request: FastifyRequest) => {
    const match = /^(?:Bearer|Token)\s+(\S+)$/i.exec(request.headers.authorization ?? "");
    return match !== null && constantTimeEqual(match[1]!, config.token);
  };

  /** A prediction answer, garbled when the malformedRate knob says so. */
  const answer = (prediction: object) => {
    const how = provider.faults.malformation();
    return how === null ? prediction : malform(prediction, how);
  };

  async function create(request: FastifyRequest, reply: FastifyReply, modelName: string | undefined) {
    const retryAfter = provider.faults.throttle();
    if (retryAfter !== null) {
      reply.header("retry-after", String(retryAfter));
      return problem(reply, 429, "Request was throttled", `Request was throttled. Expected available in ${retryAfter} second${retryAfter === 1 ? "" : "s"}.`);
    }
    if (provider.faults.createError()) return problem(reply, 500, "Internal Server Error", "draft: injected create error");
    const body = CreatePredictionBody.safeParse(request.body ?? {});
    const route = modelName === undefined ? "versions" : "models";
    const reference = modelName ?? body.data?.version;
    const log = (status: number, fields: { type: string; field: string; description: string }[] = [], model: string | null = null, predictionId: string | null = null) =>
      provider.recordCreate({ at: new Date().toISOString(), route, reference: reference ?? null, model, input: (request.body as { input?: unknown } | undefined)?.input ?? null, status, invalid_fields: fields, prediction_id: predictionId });
    if (!body.success) {
      log(422);
      return invalid(reply, body.error.issues, []);
    }
    const found = catalog.resolve(route, reference);
    if ("status" in found) {
      log(found.status);
      return reply.code(found.status).type("application/problem+json").send(found.body);
    }
    const checked = found.model.check(body.data.input);
    if ("fields" in checked) {
      log(422, checked.fields, found.model.name);
      return problem(reply, 422, "Input validation failed", checked.fields.map((f) => `- ${f.field}: ${f.description}\n`).join(""), { invalid_fields: checked.fields });
    }
    const parsed = { data: checked.parsed };
    const created = provider.create({
      model: found.model,
      input: body.data.input,
      parsed: parsed.data,
      webhook: body.data.webhook,
      events: body.data.webhook_events_filter,
      baseUrl: baseUrl(request),
    });
    log(201, [], found.model.name, created.id);
    const wait = preferredWaitSeconds(request.headers.prefer);
    if (wait > 0) await provider.waitFor(created.id, wait * 1000);
    return reply.code(201).send(answer(wait > 0 ? (provider.get(created.id) ?? created) : created));
  }

  // Public: output files. Separate scope, so the token hook below does not apply.
  app.register(async (files) => {
    files.get<{ Params: { name: string } }>("/v1/files/:name", async (request, reply) => {
      const stored = await provider.outputs.locate(request.params.name, provider.options.outputTtlMs);
      if (!stored) return problem(reply, 404, "Not found", "no such file, or it has expired");
      reply.header("content-type", stored.contentType).header("content-length", String(stored.bytes)).header("cache-control", "private, max-age=3600");
      return reply.send(createReadStream(stored.path));
    });
  });

  app.register(async (api) => {
    api.addHook("onRequest", async (request, reply) => {
      if (!authorized(request)) return problem(reply, 401, "Unauthenticated", "You did not pass a valid authentication token");
    });
    api.setErrorHandler((error: Error & { statusCode?: number }, _request, reply) => {
      const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
      if (status === 500) app.log.error(error);
      return problem(reply, status, status === 500 ? "Internal Server Error" : "Bad request", error.message);
    });

    api.post("/v1/predictions", (request, reply) => create(request, reply, undefined));
    api.post<{ Params: { owner: string; name: string } }>("/v1/models/:owner/:name/predictions", (request, reply) =>
      create(request, reply, `${request.params.owner}/${request.params.name}`),
    );

    api.get<{ Querystring: { cursor?: string } }>("/v1/predictions", async (request, reply) => {
      try {
        return provider.list(request.query.cursor, baseUrl(request));
      } catch (error) {
        if (error instanceof InvalidCursor) return problem(reply, 400, "Invalid cursor", error.message);
        throw error;
      }
    });
    api.get<{ Params: { id: string } }>("/v1/predictions/:id", async (request, reply) => {
      if (provider.faults.getError()) return problem(reply, 500, "Internal Server Error", "draft: injected get error");
      const found = provider.get(request.params.id);
      return found ? answer(found) : problem(reply, 404, "Not found", `prediction ${request.params.id} not found`);
    });
    api.post<{ Params: { id: string } }>("/v1/predictions/:id/cancel", async (request, reply) => {
      return provider.cancel(request.params.id) ?? problem(reply, 404, "Not found", `prediction ${request.params.id} not found`);
    });

    api.get<{ Params: { owner: string; name: string } }>("/v1/models/:owner/:name", async (request, reply) => {
      const { owner, name } = request.params;
      const model = catalog.models.find((m) => m.name === `${owner}/${name}`);
      if (!model) return problem(reply, 404, "Not found", `model ${owner}/${name} not found`);
      const description = config.emulate ? "emulated by adreel's draft server (local, offline)" : "adreel draft model (local, offline)";
      return { owner, name, visibility: "public", description, latest_version: { id: model.version } };
    });
    api.get("/v1/webhooks/default/secret", async () => ({ key: provider.webhookSecret }));

    api.get("/v1/_draft/config", async () => provider.knobs);
    api.get("/v1/_draft/requests", async () => ({ requests: provider.creates }));
    api.post("/v1/_draft/config", async (request, reply) => {
      const patch = DraftKnobsPatch.safeParse(request.body ?? {});
      if (!patch.success) return invalid(reply, patch.error.issues, []);
      return provider.configure(patch.data);
    });
  });

  // Held `Prefer: wait` requests would keep the server from closing for up to a minute.
  app.addHook("preClose", async () => provider.releaseWaiters());
  app.addHook("onClose", async () => provider.close());
  return { close: () => provider.close() };
}
