import type { OutputExtension } from "./outputs.ts";

/**
 * What the draft server serves: a catalog of models, each with its route rules, its input check
 * and its renderer. Two catalogs exist: adreel's own draft models (models.ts) and, in
 * emulate mode, the real default models under their published contracts (emulator.ts).
 */

/** One refused field, as Replicate reports it in a 422's `invalid_fields`. */
export interface InvalidField {
  type: string;
  field: string;
  description: string;
}

export interface RenderContext {
  /** A temp directory of this render, removed afterwards. */
  dir: string;
  log(line: string): void;
}

export interface RenderResult {
  outputs: { path: string; extension: OutputExtension }[];
  /** The model answers a list of URLs (flux-schnell/dev), not one URL. */
  array: boolean;
  /** GPU seconds the real model would bill; absent: the render's own time is reported. */
  predictTime?: number;
}

export interface ServedModel {
  /** `owner/name`. */
  name: string;
  /** 64-hex version id. */
  version: string;
  /** The input with defaults filled in, or the fields refused. */
  check(input: Record<string, unknown>): { parsed: Record<string, unknown> } | { fields: InvalidField[] };
  render(parsed: Record<string, unknown>, context: RenderContext): Promise<RenderResult>;
}

/** A model found, or the error answer the server gives instead (status and JSON body). */
export type CatalogLookup = { model: ServedModel } | { status: number; body: Record<string, unknown> };

export interface ModelCatalog {
  models: readonly ServedModel[];
  /** `models`: the model-scoped route's `owner/name`; `versions`: `/v1/predictions`'s `version` field (maybe absent). */
  resolve(route: "models" | "versions", reference: string | undefined): CatalogLookup;
}
