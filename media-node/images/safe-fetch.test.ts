import type { LookupAddress } from "node:dns";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InputError } from "../io.ts";
import { refuseAddress } from "./address-policy.ts";
import { safeFetchImage, sniffImageFormat, type ResolveAll, type SafeFetchOptions } from "./safe-fetch.ts";
import { startOrigin, type TestOrigin } from "../../test/support/origin.ts";

describe("refuseAddress", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["127.255.0.9", "loopback"],
    ["10.0.0.5", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["192.168.1.20", "private"],
    ["100.64.0.1", "carrier-grade NAT"],
    ["100.127.255.254", "carrier-grade NAT"],
    ["169.254.169.254", "metadata"],
    ["169.254.170.2", "metadata"],
    ["168.63.129.16", "metadata"],
    ["169.254.10.10", "link-local"],
    ["0.0.0.0", "unspecified"],
    ["224.0.0.1", "multicast"],
    ["255.255.255.255", "reserved"],
    ["198.51.100.7", "documentation"],
    ["::1", "loopback"],
    ["::", "unspecified"],
    ["fd00:ec2::254", "metadata"],
    ["fd12:3456::1", "unique-local"],
    ["fc00::1", "unique-local"],
    ["fe80::1%eth0", "link-local"],
    ["ff02::1", "multicast"],
    ["::ffff:10.0.0.5", "private"],
    ["::ffff:7f00:1", "loopback"],
    ["::ffff:169.254.169.254", "metadata"],
    ["64:ff9b::a00:5", "private"],
    ["2002:a9fe:a9fe::1", "metadata"],
    ["2001:db8::1", "documentation"],
    ["3fff::1", null], // 2000::/3 is global unicast
    ["4000::1", "reserved"],
  ])("%s → %s", (address, expected) => {
    expect(refuseAddress(address)).toBe(expected);
  });

  it.each(["8.8.8.8", "1.1.1.1", "93.184.216.34", "172.15.255.255", "172.32.0.1", "100.63.255.255", "100.128.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"])(
    "%s is public",
    (address) => {
      expect(refuseAddress(address)).toBeNull();
    },
  );
});

describe("sniffImageFormat", () => {
  it("reads PNG, JPEG and WebP signatures and nothing else", async () => {
    const base = sharp({ create: { width: 8, height: 8, channels: 3, background: "#336699" } });
    expect(sniffImageFormat(await base.clone().png().toBuffer())).toBe("png");
    expect(sniffImageFormat(await base.clone().jpeg().toBuffer())).toBe("jpeg");
    expect(sniffImageFormat(await base.clone().webp().toBuffer())).toBe("webp");
    expect(sniffImageFormat(await base.clone().gif().toBuffer())).toBeNull();
    expect(sniffImageFormat(Buffer.from("RIFF\0\0\0\0WAVEfmt "))).toBeNull();
    expect(sniffImageFormat(Buffer.from("<svg xmlns="))).toBeNull();
  });
});

/** A resolver for names that do not exist, so tests decide what "public" hosts resolve to. */
function fakeDns(table: Record<string, string[]>, calls: string[] = []): ResolveAll {
  return async (hostname) => {
    calls.push(hostname);
    const addresses = table[hostname];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
    return addresses.map((address): LookupAddress => ({ address, family: address.includes(":") ? 6 : 4 }));
  };
}

const LIMIT = 15 * 1024 * 1024;
const FORTY_MB = 40 * 1024 * 1024;

async function refusal(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error, "expected a refusal").toBeInstanceOf(InputError);
  return (error as Error).message;
}

describe("safeFetchImage", () => {
  let origin: TestOrigin;
  let png: Buffer;
  /** Bytes the 40 MB endpoints managed to write before the client hung up. */
  const written = { chunked: 0, declared: 0 };

  /** Strict policy except that the test origin (127.0.0.1 over http) is reachable. */
  let viaOrigin: (extra?: Partial<SafeFetchOptions>) => SafeFetchOptions;

  beforeAll(async () => {
    origin = await startOrigin();
    png = await sharp({ create: { width: 128, height: 96, channels: 3, background: "#C81E28" } }).png().toBuffer();
    origin.serveBytes("/logo.png", png, "image/png");
    origin.serveBytes("/readme.png", Buffer.from("This is a text file that claims to be a PNG.\n".repeat(20)), "image/png");
    const internal = `http://internal.example:${origin.port}/secret.png`;
    origin.serve("/to-internal", (_req, res) => res.writeHead(302, { location: internal }).end());
    origin.serve("/to-metadata", (_req, res) => res.writeHead(301, { location: "http://169.254.169.254/latest/meta-data/" }).end());
    origin.serve("/to-ipv6-loopback", (_req, res) => res.writeHead(307, { location: `http://[::1]:${origin.port}/logo.png` }).end());
    origin.serve("/to-file", (_req, res) => res.writeHead(302, { location: "file:///etc/passwd" }).end());
    origin.serve("/to-logo", (_req, res) => res.writeHead(302, { location: "/logo.png" }).end());
    for (let i = 0; i < 5; i++) origin.serve(`/loop${i}`, (_req, res) => res.writeHead(302, { location: `/loop${i + 1}` }).end());
    origin.serve("/huge-chunked.png", (_req, res) => streamForty(res, "chunked"));
    origin.serve("/huge-declared.png", (_req, res) => streamForty(res, "declared"));
    origin.serve("/stall.png", (_req, res) => {
      res.writeHead(200, { "content-type": "image/png" });
      res.write(png.subarray(0, 16)); // a valid signature, then nothing
    });

    /** 40 MB of a PNG-signed body, written as fast as the client reads, stopping when it hangs up. */
    function streamForty(res: import("node:http").ServerResponse, kind: "chunked" | "declared") {
      res.writeHead(200, { "content-type": "image/png", ...(kind === "declared" ? { "content-length": String(FORTY_MB) } : {}) });
      const block = Buffer.alloc(64 * 1024, 0x41);
      const first = Buffer.concat([png.subarray(0, 16), block.subarray(16)]);
      let sent = 0;
      const pump = () => {
        while (sent < FORTY_MB && !res.destroyed) {
          const chunk = sent === 0 ? first : block;
          sent += chunk.length;
          written[kind] = sent;
          if (!res.write(chunk)) return void res.once("drain", pump);
        }
        if (!res.destroyed) res.end();
      };
      res.on("close", () => (written[kind] = Math.min(written[kind], sent)));
      pump();
    }

    viaOrigin = (extra = {}) => ({ maxBytes: LIMIT, timeoutMs: 5_000, allowHttp: true, allowAddresses: ["127.0.0.1"], ...extra });
  });
  afterAll(() => origin.close());

  const strict = (extra: Partial<SafeFetchOptions> = {}): SafeFetchOptions => ({ maxBytes: LIMIT, timeoutMs: 5_000, ...extra });

  it("refuses file: and other non-https schemes", async () => {
    expect(await refusal(safeFetchImage("file:///etc/passwd", strict()))).toBe("source_url must use https (got file:)");
    expect(await refusal(safeFetchImage("ftp://example.com/a.png", strict()))).toBe("source_url must use https (got ftp:)");
  });

  it("refuses plain http unless allowed", async () => {
    expect(await refusal(safeFetchImage(origin.url("/logo.png"), strict()))).toBe("source_url must use https (got http:)");
  });

  it("refuses loopback, private, link-local, CGNAT and metadata addresses before connecting", async () => {
    expect(await refusal(safeFetchImage("https://127.0.0.1/logo.png", strict()))).toBe("source_url resolves to a loopback address (127.0.0.1)");
    expect(await refusal(safeFetchImage("https://10.0.0.5/logo.png", strict()))).toBe("source_url resolves to a private address (10.0.0.5)");
    expect(await refusal(safeFetchImage("https://169.254.169.254/latest/meta-data/", strict()))).toBe("source_url resolves to a metadata address (169.254.169.254)");
    expect(await refusal(safeFetchImage("https://[fd00:ec2::254]/latest/", strict()))).toBe("source_url resolves to a metadata address (fd00:ec2::254)");
    expect(await refusal(safeFetchImage("https://100.100.1.1/a.png", strict()))).toBe("source_url resolves to a carrier-grade NAT address (100.100.1.1)");
    expect(await refusal(safeFetchImage("https://[::ffff:192.168.0.1]/a.png", strict()))).toMatch(/private address/);
    expect(await refusal(safeFetchImage("https://[fd12::1]/a.png", strict()))).toBe("source_url resolves to a unique-local address (fd12::1)");
    expect(await refusal(safeFetchImage("https://0.0.0.0/a.png", strict()))).toBe("source_url resolves to an unspecified address (0.0.0.0)");
  });

  it("checks every address a name resolves to, after DNS", async () => {
    const lookup = fakeDns({ "cdn.example": ["93.184.216.34", "10.0.0.5"], "localhost.example": ["127.0.0.1"] });
    expect(await refusal(safeFetchImage("https://cdn.example/logo.png", strict({ lookup })))).toBe("source_url resolves to a private address (10.0.0.5)");
    expect(await refusal(safeFetchImage("https://localhost.example/logo.png", strict({ lookup })))).toBe("source_url resolves to a loopback address (127.0.0.1)");
    expect(await refusal(safeFetchImage("https://nowhere.example/logo.png", strict({ lookup })))).toBe("source_url host nowhere.example does not resolve (ENOTFOUND)");
  });

  it("re-checks every redirect hop", async () => {
    const lookup = fakeDns({ "internal.example": ["10.0.0.5"] });
    expect(await refusal(safeFetchImage(origin.url("/to-internal"), viaOrigin({ lookup })))).toBe("source_url redirect 1 resolves to a private address (10.0.0.5)");
    expect(await refusal(safeFetchImage(origin.url("/to-metadata"), viaOrigin()))).toBe("source_url redirect 1 resolves to a metadata address (169.254.169.254)");
    expect(await refusal(safeFetchImage(origin.url("/to-ipv6-loopback"), viaOrigin()))).toBe("source_url redirect 1 resolves to a loopback address (::1)");
    expect(await refusal(safeFetchImage(origin.url("/to-file"), viaOrigin()))).toBe("source_url redirect 1 must use https (got file:)");
    expect(await refusal(safeFetchImage(origin.url("/loop0"), viaOrigin()))).toBe("source_url redirected more than 3 times");
    const followed = await safeFetchImage(origin.url("/to-logo"), viaOrigin());
    expect(followed.redirects).toBe(1);
    expect(followed.body.equals(png)).toBe(true);
  });

  it("connects to the address it checked: one lookup per hop, Host header kept", async () => {
    const calls: string[] = [];
    const lookup = fakeDns({ "brand.example": ["127.0.0.1"] }, calls);
    const fetched = await safeFetchImage(`http://brand.example:${origin.port}/logo.png`, viaOrigin({ lookup }));
    // brand.example does not exist in real DNS: the bytes arrived only because the socket went
    // to the checked address, and no second resolution happened that a rebinding could win.
    expect(calls).toEqual(["brand.example"]);
    expect(origin.hosts.get("/logo.png")).toBe(`brand.example:${origin.port}`);
    expect(fetched).toMatchObject({ format: "png", redirects: 0, finalUrl: `http://brand.example:${origin.port}/logo.png` });
  });

  it("refuses a text file named .png by its content", async () => {
    expect(await refusal(safeFetchImage(origin.url("/readme.png"), viaOrigin()))).toBe("not a PNG, JPEG or WebP image");
  });

  it("refuses a 40 MB body declared in Content-Length without reading it", async () => {
    expect(await refusal(safeFetchImage(origin.url("/huge-declared.png"), viaOrigin()))).toBe(`image is ${FORTY_MB} bytes, over the ${LIMIT} byte limit`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(written.declared).toBeLessThan(LIMIT / 2);
  });

  it("abandons a 40 MB chunked body as soon as it crosses the limit", async () => {
    const message = await refusal(safeFetchImage(origin.url("/huge-chunked.png"), viaOrigin()));
    expect(message).toMatch(new RegExp(`^image is over the ${LIMIT} byte limit \\(stopped reading at \\d+ bytes\\)$`));
    await new Promise((resolve) => setTimeout(resolve, 50));
    // The server got to write the limit plus what socket buffers hold, never the whole 40 MB.
    expect(written.chunked).toBeGreaterThan(LIMIT);
    expect(written.chunked).toBeLessThan(LIMIT + 8 * 1024 * 1024);
  });

  it("gives up at the deadline on a body that stalls", async () => {
    const started = Date.now();
    expect(await refusal(safeFetchImage(origin.url("/stall.png"), viaOrigin({ timeoutMs: 300 })))).toBe("source_url did not deliver within 0.3 s");
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it("fetches a real image when the policy allows the address", async () => {
    const fetched = await safeFetchImage(origin.url("/logo.png"), viaOrigin());
    expect(fetched.format).toBe("png");
    expect(fetched.body.equals(png)).toBe(true);
    // allowPrivateNetwork is the broad switch local development uses.
    const relaxed = await safeFetchImage(origin.url("/logo.png"), strict({ allowHttp: true, allowPrivateNetwork: true }));
    expect(relaxed.body.equals(png)).toBe(true);
  });
});
