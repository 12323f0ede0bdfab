// adreel's API reference: renders the OpenAPI 3.1 document (operations, parameters, bodies,
// responses, schemas) with no dependencies, so it works offline and from the Worker alone.
const root = document.getElementById("reference");

/** h("p", {class: "x"}, "text", node) — text is always set as text, never parsed as HTML. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) if (child !== null && child !== undefined && child !== false) el.append(child instanceof Node ? child : String(child));
  return el;
}

/** The document's descriptions use `code` spans only: render those, everything else as text. */
function prose(text, tag = "p") {
  const el = h(tag, { class: "prose" });
  String(text ?? "").split(/(`[^`]+`)/).forEach((part) => el.append(part.startsWith("`") && part.endsWith("`") && part.length > 1 ? h("code", {}, part.slice(1, -1)) : part));
  return el;
}

const refName = (ref) => ref.replace("#/components/schemas/", "");
const anchor = (s) => s.replace(/[^A-Za-z0-9_-]+/g, "-");
const SAFE = 9007199254740991;

function typeLabel(schema, spec) {
  if (!schema || typeof schema !== "object") return "any";
  if (schema.$ref) return refName(schema.$ref);
  const union = schema.anyOf ?? schema.oneOf;
  if (union) return union.map((s) => typeLabel(s, spec)).join(" | ");
  if ("const" in schema) return JSON.stringify(schema.const);
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (types.includes("array")) return `${typeLabel(schema.items, spec)}[]`;
  if (types.includes("object") && !schema.properties && schema.additionalProperties && typeof schema.additionalProperties === "object" && Object.keys(schema.additionalProperties).length) return `map<string, ${typeLabel(schema.additionalProperties, spec)}>`;
  if (schema.contentMediaType) return `bytes (${schema.contentMediaType})`;
  return types.length ? types.join(" | ") : "any";
}

function constraints(outer) {
  // `T | null` shows T's constraints.
  const members = (outer.anyOf ?? []).filter((s) => s.type !== "null");
  const schema = members.length === 1 ? { ...members[0], ...("default" in outer ? { default: outer.default } : {}) } : outer;
  const out = [];
  const add = (label, value) => value !== undefined && out.push(`${label} ${typeof value === "string" ? value : JSON.stringify(value)}`);
  add("format", schema.format);
  if (!schema.format) add("pattern", schema.pattern); // a format says it more readably
  add("min length", schema.minLength);
  add("max length", schema.maxLength);
  if (schema.minimum !== undefined && schema.minimum !== -SAFE) add("≥", schema.minimum);
  if (schema.maximum !== undefined && schema.maximum !== SAFE) add("≤", schema.maximum);
  add(">", schema.exclusiveMinimum);
  add("<", schema.exclusiveMaximum);
  add("min items", schema.minItems);
  add("max items", schema.maxItems);
  if ("default" in schema) add("default", schema.default);
  return out;
}

/** The schema a property expands into, if it has structure worth showing. */
function inner(schema) {
  if (!schema || typeof schema !== "object") return null;
  if (schema.$ref) return schema;
  if (schema.properties) return schema;
  const union = schema.anyOf ?? schema.oneOf;
  if (union) {
    const parts = union.filter((s) => s.type !== "null");
    return parts.length === 1 ? inner(parts[0]) : parts.some((s) => inner(s)) ? { oneOf: parts } : null;
  }
  if (schema.items) return inner(schema.items);
  if (schema.additionalProperties && typeof schema.additionalProperties === "object") return inner(schema.additionalProperties);
  return null;
}

/** A schema as a property table; $refs and nested objects expand on demand (no cycles, no bloat). */
function schemaView(schema, spec, depth = 0) {
  if (!schema) return h("span", { class: "muted" }, "any");
  if (schema.$ref) {
    const name = refName(schema.$ref);
    const target = spec.components?.schemas?.[name];
    const box = h("details", { class: "ref" }, h("summary", {}, h("a", { href: `#schema-${anchor(name)}` }, name), target?.description ? h("span", { class: "muted" }, " — ", prose(target.description, "span")) : ""));
    box.addEventListener("toggle", () => { if (box.open && box.children.length === 1 && target) box.append(schemaView(target, spec, depth + 1)); }, { once: false });
    return box;
  }
  const union = schema.anyOf ?? schema.oneOf;
  if (union && !schema.properties) {
    return h("div", { class: "union" }, h("div", { class: "muted" }, schema.oneOf ? "one of:" : "any of:"), h("ol", {}, union.map((s) => h("li", {}, inner(s) ? schemaView(s, spec, depth + 1) : h("code", {}, typeLabel(s, spec))))));
  }
  if (!schema.properties) {
    const nested = inner(schema);
    return h("div", {}, h("code", { class: "type" }, typeLabel(schema, spec)), " ", constraints(schema).map((c) => h("span", { class: "constraint" }, c)), nested && nested !== schema ? schemaView(nested, spec, depth + 1) : "");
  }
  const required = new Set(schema.required ?? []);
  const rows = Object.entries(schema.properties).map(([name, prop]) => {
    const nested = inner(prop);
    return h(
      "tr",
      {},
      h("td", { class: "name" }, h("code", {}, name), required.has(name) ? h("span", { class: "required", title: "required" }, "*") : ""),
      h("td", {}, h("code", { class: "type" }, typeLabel(prop, spec)), " ", constraints(prop).map((c) => h("span", { class: "constraint" }, c)), prop.description ? prose(prop.description, "div") : "", nested ? (nested.$ref ? "" : h("details", {}, h("summary", {}, "fields"), schemaView(nested, spec, depth + 1))) : ""),
    );
  });
  const extra = schema.additionalProperties === false ? "no other fields" : "";
  return h("div", {}, h("table", { class: "props" }, h("tbody", {}, rows)), extra ? h("div", { class: "muted small" }, extra) : "");
}

function contentView(content, spec) {
  return Object.entries(content ?? {}).map(([type, media]) => h("div", { class: "content" }, h("div", { class: "media-type" }, type), media.schema?.$ref || media.schema?.properties || media.schema?.oneOf ? schemaView(media.schema, spec) : h("code", { class: "type" }, typeLabel(media.schema, spec))));
}

const AUTH_TEXT = {
  apiKey: "API key (Authorization: Bearer adr_…)",
  accessToken: "API key as ?access_token=",
  adminToken: "admin token (Authorization: Bearer …)",
};

function operationView(path, method, op, spec) {
  const id = `op-${op.operationId ?? anchor(method + path)}`;
  const auth = (op.security ?? spec.security ?? []).flatMap((s) => Object.keys(s)).map((k) => AUTH_TEXT[k] ?? k);
  const params = op.parameters ?? [];
  return h(
    "section",
    { class: "operation", id, "data-method": method, "data-search": `${method} ${path} ${op.summary ?? ""} ${op.description ?? ""}`.toLowerCase() },
    h("h3", {}, h("span", { class: `method ${method}` }, method.toUpperCase()), " ", h("code", { class: "path" }, path), h("span", { class: "summary" }, op.summary ?? "")),
    prose(op.description),
    h("p", { class: "auth" }, h("strong", {}, "Auth: "), auth.length ? auth.join(" or ") : "none (public)"),
    params.length
      ? h("div", {}, h("h4", {}, "Parameters"), h("table", { class: "params" }, h("thead", {}, h("tr", {}, h("th", {}, "name"), h("th", {}, "in"), h("th", {}, "type"), h("th", {}, "description"))), h("tbody", {}, params.map((p) => h("tr", {}, h("td", { class: "name" }, h("code", {}, p.name), p.required ? h("span", { class: "required", title: "required" }, "*") : ""), h("td", {}, p.in), h("td", {}, h("code", { class: "type" }, typeLabel(p.schema, spec)), " ", constraints(p.schema ?? {}).map((c) => h("span", { class: "constraint" }, c))), h("td", {}, prose(p.description, "div")))))))
      : "",
    op.requestBody ? h("div", {}, h("h4", {}, `Request body${op.requestBody.required ? "" : " (optional)"}`), prose(op.requestBody.description), contentView(op.requestBody.content, spec)) : "",
    h("h4", {}, "Responses"),
    h("div", { class: "responses" }, Object.entries(op.responses ?? {}).map(([status, r]) => h("div", { class: `response s${status[0]}` }, h("div", { class: "status" }, h("span", { class: "code" }, status), " ", prose(r.description, "span")), r.headers ? h("div", { class: "small" }, "headers: ", Object.entries(r.headers).map(([n, hd]) => h("span", { class: "constraint", title: hd.description ?? "" }, n))) : "", contentView(r.content, spec)))),
    op["x-websocket"] ? h("div", { class: "websocket" }, h("h4", {}, "WebSocket messages"), h("p", {}, h("strong", {}, "client → server: "), prose(op["x-websocket"].client, "span")), h("p", {}, h("strong", {}, "server → client (JSON text frames):")), schemaView(op["x-websocket"].server, spec)) : "",
  );
}

function render(spec) {
  const ops = [];
  for (const [path, item] of Object.entries(spec.paths ?? {})) for (const [method, op] of Object.entries(item)) if (["get", "post", "put", "patch", "delete"].includes(method)) ops.push({ path, method, op });
  const tags = spec.tags?.length ? spec.tags : [...new Set(ops.map((o) => o.op.tags?.[0] ?? "other"))].map((name) => ({ name }));
  const byTag = (tag) => ops.filter((o) => (o.op.tags?.[0] ?? "other") === tag);

  const filter = h("input", { type: "search", placeholder: "Filter operations…", "aria-label": "Filter operations" });
  const nav = h("nav", {}, filter, tags.map((t) => h("div", { class: "nav-tag" }, h("a", { href: `#tag-${anchor(t.name)}`, class: "tag-link" }, t.name), h("ul", {}, byTag(t.name).map(({ path, method, op }) => h("li", { "data-op": `op-${op.operationId}` }, h("a", { href: `#op-${op.operationId}` }, h("span", { class: `method ${method}` }, method.toUpperCase()), " ", path)))))), h("div", { class: "nav-tag" }, h("a", { href: "#schemas", class: "tag-link" }, "schemas")));

  const schemes = Object.entries(spec.components?.securitySchemes ?? {});
  const main = h(
    "main",
    {},
    h("header", {}, h("h1", {}, spec.info?.title ?? "API", h("span", { class: "version" }, ` v${spec.info?.version ?? ""}`), h("span", { class: "version" }, ` · OpenAPI ${spec.openapi}`)), spec.info?.summary ? h("p", { class: "lead" }, spec.info.summary) : "", prose(spec.info?.description), h("p", {}, (spec.servers ?? []).map((s) => h("span", {}, "Server: ", h("code", {}, s.url), " ")), h("a", { href: "/openapi.json" }, "openapi.json"), " · ", h("a", { href: "/" }, "live page"))),
    schemes.length ? h("section", { class: "auth-schemes" }, h("h2", {}, "Authentication"), h("ul", {}, schemes.map(([name, s]) => h("li", {}, h("code", {}, name), ` — ${s.type}${s.scheme ? ` ${s.scheme}` : ""}${s.in ? ` in ${s.in} “${s.name}”` : ""}: `, prose(s.description, "span"))))) : "",
    tags.map((t) => h("section", { class: "tag", id: `tag-${anchor(t.name)}` }, h("h2", {}, t.name), t.description ? prose(t.description) : "", byTag(t.name).map(({ path, method, op }) => operationView(path, method, op, spec)))),
    h("section", { id: "schemas" }, h("h2", {}, "Schemas"), Object.entries(spec.components?.schemas ?? {}).map(([name, schema]) => h("div", { class: "schema", id: `schema-${anchor(name)}` }, h("h3", {}, name), schema.description ? prose(schema.description) : "", schemaView(schema, spec)))),
  );

  filter.addEventListener("input", () => {
    const q = filter.value.trim().toLowerCase();
    for (const section of main.querySelectorAll(".operation")) {
      const hit = !q || section.dataset.search.includes(q);
      section.hidden = !hit;
      const link = nav.querySelector(`[data-op="${section.id}"]`);
      if (link) link.hidden = !hit;
    }
    for (const tag of main.querySelectorAll("section.tag")) tag.hidden = !!q && !tag.querySelector(".operation:not([hidden])");
  });
  root.replaceChildren(h("div", { class: "layout" }, nav, main));
  if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView();
}

fetch(root.dataset.spec ?? "/openapi.json")
  .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`${root.dataset.spec} answered ${r.status}`))))
  .then(render)
  .catch((error) => root.replaceChildren(h("p", { class: "error" }, `Could not load the API description: ${error.message}`)));
