import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { MEDIA_NODE_PROCESS_ENV } from "../../media-node/capacity.ts";
import { MEDIA_NODE_CONTAINER } from "../../worker/media/container-shape.ts";

/**
 * The media-node image, linted by reading the Dockerfile: hadolint is in neither npm nor
 * Debian's archive (checked 2026-12-04: `apt-cache policy hadolint` finds nothing, and the npm
 * registry has no hadolint package), and no Docker daemon runs in CI to build it. Checked: the
 * Node major the project runs on, ffmpeg from Debian's archive, a non-root user, and no code of
 * the draft model server in the image.
 */

const ROOT = resolve(import.meta.dirname, "..", "..");

interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile instructions with line continuations joined and comments dropped. */
function instructions(text: string): Instruction[] {
  const joined = text
    .split("\n")
    .filter((line) => !line.trimStart().startsWith("#"))
    .join("\n")
    .replace(/\\\n/g, " ");
  return joined
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [keyword = "", ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(" ") };
    });
}

const dockerfile = instructions(readFileSync(join(ROOT, "Dockerfile"), "utf8"));
const all = (keyword: string) => dockerfile.filter((i) => i.keyword === keyword);

describe("Dockerfile (media-node image)", () => {
  it("starts from Node 22 on Debian", () => {
    const from = all("FROM");
    expect(from).toHaveLength(1);
    expect(from[0]!.args).toMatch(/^node:22(\.\d+)*-(bookworm|trixie)(-slim)?(@sha256:[0-9a-f]{64})?$/);
    const engines = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { engines: { node: string } }).engines.node;
    expect(engines).toMatch(/^>=22\./);
  });

  it("installs ffmpeg from Debian's archive, without recommends, and cleans the apt lists", () => {
    const apt = all("RUN").find((i) => /apt-get install/.test(i.args));
    expect(apt?.args).toMatch(/apt-get update/);
    expect(apt?.args).toMatch(/apt-get install -y --no-install-recommends [^&]*\bffmpeg\b/);
    expect(apt?.args).toMatch(/rm -rf \/var\/lib\/apt\/lists/);
    // No ffmpeg from anywhere else (a static build downloaded with curl or wget).
    expect(all("RUN").some((i) => /(curl|wget)\b.*ffmpeg/.test(i.args))).toBe(false);
  });

  it("runs as a user other than root", () => {
    const users = all("USER");
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)!.args).not.toMatch(/^(root|0)(:|$)/);
    // The user is set before the process starts, after the installs that need root.
    const order = dockerfile.map((i) => i.keyword);
    expect(order.lastIndexOf("USER")).toBeGreaterThan(order.lastIndexOf("RUN"));
    expect(order.lastIndexOf("USER")).toBeLessThan(order.lastIndexOf("CMD"));
  });

  it("copies no draft model server code", () => {
    const sources = [...all("COPY"), ...all("ADD")].flatMap((i) => i.args.split(/\s+/).filter((arg) => !arg.startsWith("--")).slice(0, -1));
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) expect(source).not.toMatch(/(^|\/)draft(\/|$)/);
  });

  it("listens where the container's Durable Object expects it", () => {
    const env = all("ENV").map((i) => i.args).join(" ");
    expect(env).toMatch(/MEDIA_NODE_HOST=0\.0\.0\.0/);
    expect(env).toContain(`MEDIA_NODE_PORT=${MEDIA_NODE_CONTAINER.port}`);
    expect(all("EXPOSE")[0]?.args).toBe(String(MEDIA_NODE_CONTAINER.port));
  });

  it("starts media-node with the process environment the local stack gives it (its memory bounds: media-node/capacity.ts)", () => {
    const env = all("ENV").flatMap((i) => i.args.split(/\s+/));
    for (const [name, value] of Object.entries(MEDIA_NODE_PROCESS_ENV)) expect(env).toContain(`${name}=${value}`);
  });

  it("runs media-node's TypeScript on node itself, without tsx (a production dependency no more) or its esbuild service", () => {
    expect(all("CMD").at(-1)?.args).toBe('["node", "media-node/main.ts"]');
    const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> };
    expect(Object.keys(manifest.dependencies)).not.toContain("tsx");
    // What lets node run it: only syntax its type stripping erases (checked by `npm run typecheck`).
    expect(readFileSync(join(ROOT, "tsconfig.json"), "utf8")).toMatch(/"erasableSyntaxOnly":\s*true/);
  });

  it("allows no brand-asset origin beyond the public https policy", () => {
    // Production fetches brand assets over https from public addresses only; the allowlist is the local stack's.
    expect(all("ENV").map((i) => i.args).join(" ")).not.toContain("MEDIA_NODE_ALLOWED_ORIGINS");
  });
});
