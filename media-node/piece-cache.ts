import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { copyFile, link, mkdtemp, rm, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { type DownloadOptions, downloadTo, fileSize, redact, uploadTo } from "./io.ts";

/**
 * The pieces of a video media-node stored itself (normalized chunks, windows, the soundtrack),
 * kept on local disk so that the final assembly, which reads every one of them moments later,
 * need not download what it just wrote.
 *
 * - Keyed by the object a signed URL names (its origin and path, without the signature): the
 *   same object whether the URL was signed for the upload or, later, for a download.
 * - A piece is taken only when the caller names the etag storage has for it now and that etag is
 *   the MD5 of the kept bytes (R2's etag of a single PUT): an object another media-node wrote
 *   over since, or a piece kept from a failed upload, is never read from here.
 * - Bounded by bytes, the least recently used piece evicted first.
 * - Its directory is its own, not under MEDIA_NODE_TMP: that root holds each request's scratch
 *   directory, removed when the request ends (the fault suite checks it is left empty), while a
 *   kept piece outlives its request by design. The directory is made per process and removed
 *   on `close` (the server's shutdown); a killed process leaves at most `maxBytes` behind.
 * - Pieces are hard links where the request's directory is on the same filesystem (no copy),
 *   else copies; a request takes its own link, so an eviction never pulls a file from under it.
 */
/** Where a route stores its outputs and reads its inputs: through a PieceCache, or straight to and from storage. */
export interface PieceStore {
  /** Upload a file to a signed URL. */
  upload(url: string, path: string, contentType: string): Promise<number>;
  /** Download `url` into `path`; `etag`, when the caller knows it, is what storage holds there now. `kept`: read from a kept copy. */
  download(url: string, etag: string | undefined, path: string, options?: DownloadOptions): Promise<{ bytes: number; kept: boolean }>;
}

export const DIRECT_STORE: PieceStore = {
  upload: (url, path, contentType) => uploadTo(url, path, contentType),
  download: async (url, _etag, path, options) => ({ bytes: await downloadTo(url, path, options), kept: false }),
};

export class PieceCache implements PieceStore {
  private readonly entries = new Map<string, { path: string; bytes: number; md5: string }>();
  private bytes = 0;
  private serial = 0;
  readonly dir: string;
  readonly maxBytes: number;

  private constructor(
    dir: string,
    maxBytes: number,
  ) {
    this.dir = dir;
    this.maxBytes = maxBytes;
  }

  /** A cache in a fresh directory under `root` (the OS temp dir by default), holding at most `maxBytes`. */
  static async open(maxBytes: number, root = tmpdir()): Promise<PieceCache> {
    return new PieceCache(await mkdtemp(join(root, "adreel-pieces-")), maxBytes);
  }

  /** Upload a file to a signed URL and, once storage took it, keep it under that object. */
  async upload(url: string, path: string, contentType: string): Promise<number> {
    // The copy is made and hashed while the upload runs; it is kept only once storage took it.
    const copy = this.copyOf(path).catch(() => null);
    let bytes: number;
    try {
      bytes = await uploadTo(url, path, contentType);
    } catch (error) {
      const copied = await copy;
      if (copied) await unlink(copied.path).catch(() => undefined);
      throw error;
    }
    const kept = await copy;
    if (kept) await this.add(redact(url), kept);
    return bytes;
  }

  /** Download `url` into `path`, from the kept copy when its MD5 is `etag`. */
  async download(url: string, etag: string | undefined, path: string, options?: DownloadOptions): Promise<{ bytes: number; kept: boolean }> {
    const kept = etag === undefined ? null : await this.take(url, etag, path);
    return kept === null ? { bytes: await downloadTo(url, path, options), kept: false } : { bytes: kept, kept: true };
  }

  /** Pieces kept now. */
  get size(): number {
    return this.entries.size;
  }

  async close(): Promise<void> {
    this.entries.clear();
    this.bytes = 0;
    await rm(this.dir, { recursive: true, force: true });
  }

  private async copyOf(path: string): Promise<{ path: string; bytes: number; md5: string } | null> {
    const bytes = await fileSize(path);
    if (bytes > this.maxBytes) return null;
    const copy = join(this.dir, `piece-${++this.serial}`);
    await linkOrCopy(path, copy);
    return { path: copy, bytes, md5: await md5Of(copy) };
  }

  private async add(id: string, entry: { path: string; bytes: number; md5: string }): Promise<void> {
    const dropped = [this.drop(id)];
    this.entries.set(id, entry);
    this.bytes += entry.bytes;
    for (const [oldest] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      dropped.push(this.drop(oldest));
    }
    await Promise.all(dropped);
  }

  /** The kept piece into `path` (its byte count), or null: none kept, another etag, or gone meanwhile. */
  private async take(url: string, etag: string, path: string): Promise<number | null> {
    const id = redact(url);
    const entry = this.entries.get(id);
    if (!entry || entry.md5 !== etag.replace(/"/g, "").toLowerCase()) return null;
    // Most recently used last: eviction walks from the front.
    this.entries.delete(id);
    this.entries.set(id, entry);
    try {
      await linkOrCopy(entry.path, path);
      return entry.bytes;
    } catch {
      return null;
    }
  }

  private async drop(id: string): Promise<void> {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    this.bytes -= entry.bytes;
    await unlink(entry.path).catch(() => undefined);
  }
}

async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EXDEV") throw error;
    await copyFile(from, to);
  }
}

async function md5Of(path: string): Promise<string> {
  const hash = createHash("md5");
  await pipeline(createReadStream(path), hash);
  return hash.digest("hex");
}
