import type { LookupAddress } from "node:dns";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InputError } from "../io.ts";
import { refuseAddress } from "./address-policy.ts";
import { firstRefusal, parseAllowedOrigins, safeFetchImage, sniffImageFormat, type ResolveAll, type SafeFetchOptions } from "./safe-fetch.ts";
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

  /** Production's policy plus the test origin (http on 127.0.0.1) as an allowed origin, the way the local stack allows its own. */
  let viaOrigin: (extra?: Partial<SafeFetchOptions>) => SafeFetchOptions;
  /** A loopback port nothing listens on. */
  let closedPort: number;

  beforeAll(async () => {
    origin = await startOrigin();
    png = await sharp({ create: { width: 128, height: 96, channels: 3, background: "#C81E28" } }).png().toBuffer();
    origin.serveBytes("/logo.png", png, "image/png");
    origin.serveBytes("/signed/logo.png", png, "image/png");
    origin.serve("/signed/to-logo", (_req, res) => res.writeHead(302, { location: "/logo.png" }).end());
    origin.serveBytes("/readme.png", Buffer.from("This is a text file that claims to be a PNG.\n".repeat(20)), "image/png");
    // Redirect targets are loopback names this test controls: were the policy broken, they would reach this origin and nothing else.
    origin.serve("/to-internal", (_req, res) => res.writeHead(302, { location: `https://internal.example:${origin.port}/secret.png` }).end());
    origin.serve("/to-other-spelling", (_req, res) => res.writeHead(301, { location: `http://localhost:${origin.port}/logo.png` }).end());
    origin.serve("/to-ipv6-loopback", (_req, res) => res.writeHead(307, { location: `https://[::1]:${origin.port}/logo.png` }).end());
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

    viaOrigin = (extra = {}) => ({ maxBytes: LIMIT, timeoutMs: 5_000, allowedOrigins: [origin.url("")], ...extra });
    const closed = await startOrigin();
    closedPort = closed.port;
    await closed.close();
  });
  afterAll(() => origin.close());

  const strict = (extra: Partial<SafeFetchOptions> = {}): SafeFetchOptions => ({ maxBytes: LIMIT, timeoutMs: 5_000, ...extra });

  it("refuses file: and other non-https schemes", async () => {
    expect(await refusal(safeFetchImage("file:///etc/passwd", strict()))).toBe("source_url must use https (got file:)");
    expect(await refusal(safeFetchImage("ftp://example.com/a.png", strict()))).toBe("source_url must use https (got ftp:)");
  });

  it("refuses plain http outside the allowed origins, whatever the address", async () => {
    expect(await refusal(safeFetchImage(origin.url("/logo.png"), strict()))).toBe("source_url must use https (got http:)");
    // The allowlist is exact: another port, or another spelling of the host, is another origin.
    expect(await refusal(safeFetchImage(origin.url("/logo.png"), strict({ allowedOrigins: [`http://127.0.0.1:${closedPort}`] })))).toBe("source_url must use https (got http:)");
    expect(await refusal(safeFetchImage(`http://localhost:${origin.port}/logo.png`, viaOrigin()))).toBe("source_url must use https (got http:)");
    expect(await refusal(safeFetchImage(`https://127.0.0.1:${origin.port}/logo.png`, viaOrigin()))).toBe("source_url resolves to a loopback address (127.0.0.1)");
  });

  it("allows an origin's folder and nothing beside it: not its siblings, not a path climbing out, not a redirect out", async () => {
    // The local stack's storage port serves R2's S3 API (signed) in one folder and every object unsigned in another.
    const folder = strict({ allowedOrigins: parseAllowedOrigins(origin.url("/signed/")) });
    expect((await safeFetchImage(origin.url("/signed/logo.png"), folder)).format).toBe("png");
    expect(await refusal(safeFetchImage(origin.url("/logo.png"), folder))).toBe("source_url must use https (got http:)");
    expect(await refusal(safeFetchImage(origin.url("/signed/../logo.png"), folder))).toBe("source_url must use https (got http:)");
    expect(await refusal(safeFetchImage(origin.url("/signed/%2e%2e/logo.png"), folder))).toBe("source_url must use https (got http:)");
    expect(await refusal(safeFetchImage(origin.url("/signed/to-logo"), folder))).toBe("source_url redirect 1 must use https (got http:)");
  });

  it("refuses loopback and unspecified addresses in every spelling before connecting", async () => {
    // Each names this test's own origin port: a broken policy would reach the test and nothing else.
    const port = origin.port;
    for (const spelling of ["127.0.0.1", "127.1", "2130706433", "0x7f000001", "127.000.000.001"]) {
      expect(await refusal(safeFetchImage(`https://${spelling}:${port}/logo.png`, strict())), spelling).toBe("source_url resolves to a loopback address (127.0.0.1)");
    }
    expect(await refusal(safeFetchImage(`https://[::1]:${port}/logo.png`, strict()))).toBe("source_url resolves to a loopback address (::1)");
    expect(await refusal(safeFetchImage(`https://[::ffff:127.0.0.1]:${port}/logo.png`, strict()))).toBe("source_url resolves to a loopback address (::ffff:7f00:1)");
    expect(await refusal(safeFetchImage(`https://localhost:${port}/logo.png`, strict()))).toMatch(/^source_url resolves to a loopback address \((127\.0\.0\.1|::1)\)$/);
    expect(await refusal(safeFetchImage(`https://0.0.0.0:${port}/a.png`, strict()))).toBe("source_url resolves to an unspecified address (0.0.0.0)");
    expect(await refusal(safeFetchImage(`https://[::]:${port}/a.png`, strict()))).toBe("source_url resolves to an unspecified address (::)");
  });

  it("judges every address a name resolves to, not only the one it would connect to", async () => {
    // Pure: no connection is attempted, so the private and metadata records need not be reachable ones.
    expect(firstRefusal([{ address: "93.184.216.34" }, { address: "10.0.0.5" }])).toEqual({ address: "10.0.0.5", refusal: "private" });
    expect(firstRefusal([{ address: "2606:4700:4700::1111" }, { address: "fd00:ec2::254" }])).toEqual({ address: "fd00:ec2::254", refusal: "metadata" });
    expect(firstRefusal([{ address: "93.184.216.34" }, { address: "2606:4700:4700::1111" }])).toBeNull();
    // Wired into the fetch, after DNS: a name that resolves to loopback is refused as loopback.
    const lookup = fakeDns({ "cdn.example": ["127.0.0.1", "::1"] });
    expect(await refusal(safeFetchImage(`https://cdn.example:${origin.port}/logo.png`, strict({ lookup })))).toBe("source_url resolves to a loopback address (127.0.0.1)");
    expect(await refusal(safeFetchImage("https://nowhere.example/logo.png", strict({ lookup })))).toBe("source_url host nowhere.example does not resolve (ENOTFOUND)");
  });

  it("re-checks every redirect hop, also from an allowed origin", async () => {
    const lookup = fakeDns({ "internal.example": ["127.0.0.1"] });
    expect(await refusal(safeFetchImage(origin.url("/to-internal"), viaOrigin({ lookup })))).toBe("source_url redirect 1 resolves to a loopback address (127.0.0.1)");
    expect(await refusal(safeFetchImage(origin.url("/to-other-spelling"), viaOrigin()))).toBe("source_url redirect 1 must use https (got http:)");
    expect(await refusal(safeFetchImage(origin.url("/to-ipv6-loopback"), viaOrigin()))).toBe("source_url redirect 1 resolves to a loopback address (::1)");
    expect(await refusal(safeFetchImage(origin.url("/to-file"), viaOrigin()))).toBe("source_url redirect 1 must use https (got file:)");
    expect(await refusal(safeFetchImage(origin.url("/loop0"), viaOrigin()))).toBe("source_url redirected more than 3 times");
    const followed = await safeFetchImage(origin.url("/to-logo"), viaOrigin());
    expect(followed.redirects).toBe(1);
    expect(followed.body.equals(png)).toBe(true);
  });

  it("a host that cannot be reached is the URL's problem: a refusal with the reason", async () => {
    expect(await refusal(safeFetchImage(`http://127.0.0.1:${closedPort}/logo.png`, strict({ allowedOrigins: [`http://127.0.0.1:${closedPort}`] })))).toBe("source_url could not be fetched (ECONNREFUSED)");
  });

  it("connects to the address it checked: one lookup per hop, Host header kept", async () => {
    const calls: string[] = [];
    const lookup = fakeDns({ "brand.example": ["127.0.0.1"] }, calls);
    const fetched = await safeFetchImage(`http://brand.example:${origin.port}/logo.png`, viaOrigin({ lookup, allowedOrigins: [`http://brand.example:${origin.port}`] }));
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

  it("fetches a real image from an allowed origin", async () => {
    const fetched = await safeFetchImage(origin.url("/logo.png"), viaOrigin());
    expect(fetched.format).toBe("png");
    expect(fetched.body.equals(png)).toBe(true);
  });
});

describe("parseAllowedOrigins", () => {
  it("reads origins separated by commas or spaces, as URL.origin spells them", () => {
    expect(parseAllowedOrigins(undefined)).toEqual([]);
    expect(parseAllowedOrigins("http://127.0.0.1:8787, https://Assets.Example:443/ http://localhost:9000")).toEqual(["http://127.0.0.1:8787", "https://assets.example", "http://localhost:9000"]);
    expect(parseAllowedOrigins("http://127.0.0.1:8788/cdn-cgi/local/r2/s3/")).toEqual(["http://127.0.0.1:8788/cdn-cgi/local/r2/s3/"]);
  });

  it("refuses anything that is not exactly an origin", () => {
    // A path is a folder or nothing: "/media" would also allow "/media-public".
    expect(() => parseAllowedOrigins("http://127.0.0.1:8787/media")).toThrow(/must be scheme:\/\/host\[:port\]/);
    expect(() => parseAllowedOrigins("http://127.0.0.1:8787/media/?x=1")).toThrow(/must be scheme/);
    expect(() => parseAllowedOrigins("http://user:pw@127.0.0.1")).toThrow(/must be scheme/);
    expect(() => parseAllowedOrigins("file:///etc")).toThrow(/must be scheme/);
    expect(() => parseAllowedOrigins("127.0.0.1:8787")).toThrow(/must be scheme|is not a URL/);
  });
});
