import { describe, expect, it } from "vitest";
import { MAX_PRESIGNED_TTL_SECONDS, presignR2Url, presignUrl } from "./presigned-url.ts";

/**
 * AWS's worked example of a presigned GET (S3 API reference, "Authenticating Requests: Using
 * Query Parameters (AWS Signature Version 4)", example "GET object"): its credentials, time,
 * expiry and the signature and URL the page prints.
 */
const AWS_EXAMPLE = {
  accessKeyId: "AKIAIOSFODNN7EXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  now: Date.UTC(2013, 4, 24, 0, 0, 0),
  signature: "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
  url:
    "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request" +
    "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
};

const R2 = { accountId: "0123456789abcdef0123456789abcdef", accessKeyId: "r2-key-id", secretAccessKey: "r2-secret", bucket: "adreel-media" };

describe("SigV4 query presigning", () => {
  it("reproduces AWS's published presigned GET", async () => {
    const url = new URL("https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Expires=86400");
    const signed = new URL(await presignUrl(url, "GET", AWS_EXAMPLE, { region: "us-east-1", now: AWS_EXAMPLE.now }));
    expect(signed.searchParams.get("X-Amz-Signature")).toBe(AWS_EXAMPLE.signature);
    // The same parameters as the published URL (their order in the query does not matter to S3).
    const expected = new URL(AWS_EXAMPLE.url);
    expect(Object.fromEntries(signed.searchParams)).toEqual(Object.fromEntries(expected.searchParams));
    expect(`${signed.origin}${signed.pathname}`).toBe(`${expected.origin}${expected.pathname}`);
  });

  it("signs with the day's own key when keys of other days, regions and secrets were made before it (signing keys are kept between URLs)", async () => {
    const example = new URL("https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Expires=86400");
    const DAY_MS = 24 * 3600 * 1000;
    // Keys of the day before, the day after, another region and another secret, made first.
    await presignUrl(example, "GET", AWS_EXAMPLE, { region: "us-east-1", now: AWS_EXAMPLE.now - DAY_MS });
    await presignUrl(example, "GET", AWS_EXAMPLE, { region: "us-east-1", now: AWS_EXAMPLE.now + DAY_MS });
    await presignUrl(example, "GET", AWS_EXAMPLE, { region: "auto", now: AWS_EXAMPLE.now });
    await presignUrl(example, "GET", { ...AWS_EXAMPLE, secretAccessKey: "another secret" }, { region: "us-east-1", now: AWS_EXAMPLE.now });
    for (let i = 0; i < 2; i++) {
      const signed = new URL(await presignUrl(example, "GET", AWS_EXAMPLE, { region: "us-east-1", now: AWS_EXAMPLE.now }));
      expect(signed.searchParams.get("X-Amz-Signature")).toBe(AWS_EXAMPLE.signature);
    }
    // Another secret on the example's day (its key made above): not the example's signature.
    const other = new URL(await presignUrl(example, "GET", { ...AWS_EXAMPLE, secretAccessKey: "another secret" }, { region: "us-east-1", now: AWS_EXAMPLE.now }));
    expect(other.searchParams.get("X-Amz-Signature")).not.toBe(AWS_EXAMPLE.signature);
  });

  it("changes the signature with the method, the key, the time and the secret", async () => {
    const base = async (over: { key?: string; access?: "get" | "put"; now?: number; secret?: string }) =>
      new URL(await presignR2Url({ ...R2, secretAccessKey: over.secret ?? R2.secretAccessKey }, over.key ?? "videos/v/final.mp4", over.access ?? "get", 3600, { now: over.now ?? AWS_EXAMPLE.now })).searchParams.get("X-Amz-Signature");
    const reference = await base({});
    expect(await base({})).toBe(reference);
    for (const other of [await base({ access: "put" }), await base({ key: "videos/v/stitched.mp4" }), await base({ now: AWS_EXAMPLE.now + 1000 }), await base({ secret: "other" })]) {
      expect(other).not.toBe(reference);
    }
  });
});

describe("presignR2Url", () => {
  it("addresses R2's S3 endpoint path-style, region auto, with the key encoded once", async () => {
    const url = new URL(await presignR2Url(R2, "videos/a b/ü+1.png", "put", 900, { now: AWS_EXAMPLE.now }));
    expect(url.origin).toBe(`https://${R2.accountId}.r2.cloudflarestorage.com`);
    expect(url.pathname).toBe("/adreel-media/videos/a%20b/%C3%BC%2B1.png");
    expect(url.searchParams.get("X-Amz-Credential")).toBe("r2-key-id/20130524/auto/s3/aws4_request");
    expect(url.searchParams.get("X-Amz-Expires")).toBe("900");
    expect(url.searchParams.get("X-Amz-SignedHeaders")).toBe("host");
  });

  it("uses another S3 endpoint when one is configured", async () => {
    const url = new URL(await presignR2Url({ ...R2, endpoint: "http://127.0.0.1:4569/" }, "k.png", "get", 60));
    expect(`${url.origin}${url.pathname}`).toBe("http://127.0.0.1:4569/adreel-media/k.png");
  });

  it("refuses lifetimes S3 does not accept", async () => {
    for (const ttl of [0, -5, 1.5, MAX_PRESIGNED_TTL_SECONDS + 1]) {
      await expect(presignR2Url(R2, "k.png", "get", ttl)).rejects.toThrow(RangeError);
    }
    await expect(presignR2Url(R2, "k.png", "get", MAX_PRESIGNED_TTL_SECONDS)).resolves.toContain("X-Amz-Expires=604800");
  });
});
