import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestOrigin, startOrigin } from "../test/support/origin.ts";
import { PieceCache } from "./piece-cache.ts";

const md5 = (bytes: Buffer) => createHash("md5").update(bytes).digest("hex");

let dir: string;
let origin: TestOrigin;
let file = 0;

async function piece(bytes: Buffer): Promise<string> {
  const path = join(dir, `piece-${file++}`);
  await writeFile(path, bytes);
  return path;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "adreel-piece-cache-test-"));
  origin = await startOrigin();
});

afterAll(async () => {
  await origin.close();
  await rm(dir, { recursive: true, force: true });
});

describe("PieceCache", () => {
  it("reads a piece it uploaded from its own copy when storage's etag is that copy's MD5, whatever the URL's signature", async () => {
    const cache = await PieceCache.open(1024 * 1024, dir);
    const bytes = Buffer.from("a normalized chunk");
    await cache.upload(origin.url("/video/chunk-0.mp4?access=put&sig=a"), await piece(bytes), "video/mp4");
    expect(origin.uploads.get("/video/chunk-0.mp4")!.body).toEqual(bytes);
    // The origin serves no GET there: only the kept copy can answer.
    const into = join(dir, "taken-0");
    expect(await cache.download(origin.url("/video/chunk-0.mp4?access=get&sig=b"), md5(bytes), into)).toEqual({ bytes: bytes.length, kept: true });
    expect(await readFile(into)).toEqual(bytes);
    // R2's etags may come quoted.
    const quoted = join(dir, "taken-0-quoted");
    await cache.download(origin.url("/video/chunk-0.mp4?access=get&sig=c"), `"${md5(bytes)}"`, quoted);
    expect(await readFile(quoted)).toEqual(bytes);
    await cache.close();
  });

  it("downloads when storage holds other bytes (another media-node wrote over the object), when no etag is given, and what it never stored", async () => {
    const cache = await PieceCache.open(1024 * 1024, dir);
    const mine = Buffer.from("the window this media-node rendered");
    const theirs = Buffer.from("the window another media-node rendered later");
    await cache.upload(origin.url("/video/window-6.mp4?sig=a"), await piece(mine), "video/mp4");
    origin.serveBytes("/video/window-6.mp4", theirs);
    const over = join(dir, "over");
    expect(await cache.download(origin.url("/video/window-6.mp4?sig=b"), md5(theirs), over)).toEqual({ bytes: theirs.length, kept: false });
    expect(await readFile(over)).toEqual(theirs);
    const unnamed = join(dir, "unnamed");
    await cache.download(origin.url("/video/window-6.mp4?sig=b"), undefined, unnamed);
    expect(await readFile(unnamed)).toEqual(theirs);
    await expect(cache.download(origin.url("/video/never.mp4?sig=b"), md5(mine), join(dir, "never"))).rejects.toThrow(/answered 404/);
    await cache.close();
  });

  it("keeps nothing of an upload storage refused", async () => {
    const cache = await PieceCache.open(1024 * 1024, dir);
    origin.serve("/video/refused.mp4", (request, response) => {
      request.resume();
      request.on("end", () => response.writeHead(request.method === "PUT" ? 503 : 404).end("no"));
    });
    const bytes = Buffer.from("never stored");
    await expect(cache.upload(origin.url("/video/refused.mp4?sig=a"), await piece(bytes), "video/mp4")).rejects.toThrow(/answered 503/);
    expect(cache.size).toBe(0);
    await expect(cache.download(origin.url("/video/refused.mp4?sig=b"), md5(bytes), join(dir, "refused"))).rejects.toThrow(/answered 404/);
    expect(await readdir(cache.dir)).toEqual([]);
    await cache.close();
  });

  it("holds at most its bytes, the least recently used piece going first, and removes its directory on close", async () => {
    const cache = await PieceCache.open(250, dir);
    const pieces = [0, 1, 2].map((i) => Buffer.alloc(100, i));
    await cache.upload(origin.url("/video/a.mp4?sig=a"), await piece(pieces[0]!), "video/mp4");
    await cache.upload(origin.url("/video/b.mp4?sig=a"), await piece(pieces[1]!), "video/mp4");
    // a read last: b is the least recently used when c comes in.
    await cache.download(origin.url("/video/a.mp4?sig=b"), md5(pieces[0]!), join(dir, "a-read"));
    await cache.upload(origin.url("/video/c.mp4?sig=a"), await piece(pieces[2]!), "video/mp4");
    expect(cache.size).toBe(2);
    await expect(cache.download(origin.url("/video/b.mp4?sig=b"), md5(pieces[1]!), join(dir, "b-read"))).rejects.toThrow(/answered 404/);
    for (const [name, bytes] of [["a", pieces[0]!], ["c", pieces[2]!]] as const) {
      const into = join(dir, `${name}-again`);
      await cache.download(origin.url(`/video/${name}.mp4?sig=b`), md5(bytes), into);
      expect(await readFile(into)).toEqual(bytes);
    }
    // A piece over the whole bound is not kept at all.
    await cache.upload(origin.url("/video/big.mp4?sig=a"), await piece(Buffer.alloc(300, 9)), "video/mp4");
    expect(cache.size).toBe(2);
    expect((await readdir(cache.dir)).length).toBe(2);
    await cache.close();
    expect(existsSync(cache.dir)).toBe(false);
  });
});
