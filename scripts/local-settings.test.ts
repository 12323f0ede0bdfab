import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";
import { wranglerBucket } from "./local-settings.ts";
import { MEDIA_BUCKET, ROOT } from "./stack.ts";

/** The stack's bucket name comes from wrangler.toml, read as wrangler reads it. */

const dir = mkdtempSync(join(tmpdir(), "adreel-wrangler-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function rootWith(toml: string): string {
  const root = mkdtempSync(join(dir, "root-"));
  writeFileSync(join(root, "wrangler.toml"), toml);
  return root;
}

describe("wranglerBucket", () => {
  it("is the bucket wrangler's own reader finds for the MEDIA binding of the real wrangler.toml, and the stack's", () => {
    const buckets = unstable_readConfig({ config: join(ROOT, "wrangler.toml") }).r2_buckets as { binding: string; bucket_name?: string }[];
    const media = buckets.find((b) => b.binding === "MEDIA")?.bucket_name;
    expect(media).toBeTruthy();
    expect(wranglerBucket(ROOT, "MEDIA")).toBe(media);
    expect(MEDIA_BUCKET).toBe(media);
  });

  it("reads the top-level table binding the name, not another binding's or an environment's", () => {
    const root = rootWith(
      [
        'name = "w"',
        "[[env.production.r2_buckets]]",
        'binding = "MEDIA"',
        'bucket_name = "production-media"',
        "[[r2_buckets]]",
        "# the thumbnails",
        'binding = "THUMBS"',
        'bucket_name = "thumbs"',
        "",
        "[[r2_buckets]]",
        '  bucket_name = "local-media"   # renamed',
        '  binding = "MEDIA"',
        "[vars]",
        'bucket_name = "not-a-bucket"',
      ].join("\n"),
    );
    expect(wranglerBucket(root, "MEDIA")).toBe("local-media");
    expect(wranglerBucket(root, "THUMBS")).toBe("thumbs");
  });

  it("throws, naming the binding, when no table or two tables bind it, or one has no bucket name", () => {
    expect(() => wranglerBucket(rootWith('[[r2_buckets]]\nbinding = "OTHER"\nbucket_name = "x"\n'), "MEDIA")).toThrow(/binding = "MEDIA".*found 0/);
    expect(() => wranglerBucket(rootWith('[[r2_buckets]]\nbinding = "MEDIA"\nbucket_name = "a"\n[[r2_buckets]]\nbinding = "MEDIA"\nbucket_name = "b"\n'), "MEDIA")).toThrow(/found 2/);
    expect(() => wranglerBucket(rootWith('[[r2_buckets]]\nbinding = "MEDIA"\n'), "MEDIA")).toThrow(/bucket_name/);
    // An inline form it does not read fails loudly instead of guessing.
    expect(() => wranglerBucket(rootWith('r2_buckets = [{ binding = "MEDIA", bucket_name = "m" }]\n'), "MEDIA")).toThrow(/found 0/);
  });
});
