import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MediaNodeStandIn } from "../../test/support/media-node-stand-in.ts";
import { loadConfig } from "../config.ts";
import { workerLog } from "../log.ts";
import { mediaNode } from "../media/media-node.ts";
import { mediaUrl } from "../media/media-urls.ts";
import { type AssetStore, admitBrandAssets, ingestAsset } from "./assets.ts";

/**
 * Whose fault a refused ingest is, decided by the `field` media-node's answer names: the image it
 * read and a URL the client gave are the client's (422), a field of the request the Worker built
 * around them is ours (500, logged), whatever the client sent. media-node is the strict stand-in
 * (the same refusals, fields and words as media-node: test/media-node-stand-in.test.ts), called
 * over the real client; only the Worker's signer is broken here, the way a deployment's could be.
 */

const config = loadConfig(env);
const TENANT = "references-assets";

/** `mediaNodeSecret`: the secret media-node was deployed with, the Worker's own unless a test says otherwise. */
function store(sign: AssetStore["sign"], lines: unknown[] = [], mediaNodeSecret = config.mediaNodeSecret): AssetStore {
  const standIn = new MediaNodeStandIn(mediaNodeSecret);
  return {
    bucket: env.MEDIA,
    media: mediaNode("http://media-node.test", config.mediaNodeSecret, async (input, init) => standIn.handle(new Request(input, init))),
    log: workerLog({ level: "warn", format: "fields" }, {}, (_level, line) => lines.push(line)),
    sign,
  };
}

const signs = (key: string, access: "get" | "put", ttl: number) => mediaUrl(config, "service", key, access, ttl);
/** A signer gone wrong: what it hands media-node is no URL at all. */
const broken = async () => "not a signed URL";

describe("a brand asset's ingest refused by media-node", () => {
  it("is our failure (500 naming the asset, logged) when media-node refuses the request we built, and the client's when it refuses the asset", async () => {
    const lines: unknown[] = [];
    const admission = await admitBrandAssets(store(broken, lines), TENANT, { product_images: ["https://assets.example/shoe.png"], character_images: [] });
    expect(admission).toEqual({ ok: false, status: 500, field: "brand_assets.product_images.0", message: "brand assets could not be checked: an error of ours, not of the assets" });
    expect(lines).toContainEqual(expect.objectContaining({ level: "error", event: "asset.ingest_refused", field: "brand_assets.product_images.0", error: expect.stringMatching(/answered 422: output_url: /) }));
    // Against which: the URL the client gave refused is the client's 422, in the client's words.
    const theirs = await admitBrandAssets(store(signs), TENANT, { product_images: [], character_images: [], logo: "http://assets.example/logo.png" });
    expect(theirs).toEqual({ ok: false, status: 422, field: "brand_assets.logo", message: "URL must use https (got http:)" });
  });

  it("is our failure, not a passing outage, when media-node refuses the request's signature: logged with what to check", async () => {
    const lines: unknown[] = [];
    const admission = await admitBrandAssets(store(signs, lines, "another secret"), TENANT, { product_images: ["https://assets.example/shoe.png"], character_images: [] });
    expect(admission).toEqual({ ok: false, status: 500, field: "brand_assets.product_images.0", message: "brand assets could not be checked: an error of ours, not of the assets" });
    expect(lines).toContainEqual(expect.objectContaining({ level: "error", event: "asset.ingest_refused", error: expect.stringMatching(/^media-node refused the request's signature: MEDIA_NODE_SECRET must be the same for the Worker and media-node.*answered 401/) }));
    const upload = await ingestAsset(store(signs, [], "another secret"), TENANT, crypto.randomUUID(), { url: "https://storage.example/uploads/x.bin", staged: true });
    expect(upload).toEqual({ ok: false, kind: "failed", reason: expect.stringMatching(/MEDIA_NODE_SECRET/) });
  });

  it("is ours for an upload whose output the request names wrongly: the upload's bytes are not at fault", async () => {
    const outcome = await ingestAsset(store(broken), TENANT, crypto.randomUUID(), { url: "https://storage.example/uploads/x.bin", staged: true });
    expect(outcome).toEqual({ ok: false, kind: "failed", reason: expect.stringMatching(/output_url: /) });
  });
});
