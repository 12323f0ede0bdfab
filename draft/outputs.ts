import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync } from "node:fs";
import { copyFile, readdir, rename, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Rendered outputs, served like replicate.delivery files: anyone holding the (unguessable) URL
 * may download until the file expires. Expiry is by file age, so files left by an earlier
 * process in a persistent `outputDir` expire too.
 */

export const OUTPUT_TYPES = {
  png: "image/png",
  jpg: "image/jpeg",
  webp: "image/webp",
  mp4: "video/mp4",
  wav: "audio/wav",
  mp3: "audio/mpeg",
} as const;
export type OutputExtension = keyof typeof OUTPUT_TYPES;

/** 128 random bits: unguessable, and the pattern keeps path tricks out of `locate`. */
const NAME = /^[0-9a-f]{32}\.(png|jpg|webp|mp4|wav|mp3)$/;

export interface StoredOutput {
  path: string;
  contentType: string;
  bytes: number;
}

export class OutputStore {
  readonly dir: string;
  private readonly ownsDir: boolean;

  constructor(dir?: string) {
    if (dir) {
      mkdirSync(dir, { recursive: true });
      this.dir = dir;
      this.ownsDir = false;
    } else {
      this.dir = mkdtempSync(join(tmpdir(), "adreel-draft-outputs-"));
      this.ownsDir = true;
    }
  }

  /** Move a rendered file in; returns its public name. */
  async keep(renderedPath: string, extension: OutputExtension): Promise<string> {
    const name = `${randomBytes(16).toString("hex")}.${extension}`;
    const target = join(this.dir, name);
    try {
      await rename(renderedPath, target);
    } catch (error) {
      // Temp dir on another filesystem: rename cannot cross it.
      if ((error as NodeJS.ErrnoException).code !== "EXDEV") throw error;
      await copyFile(renderedPath, target);
      await rm(renderedPath, { force: true });
    }
    return name;
  }

  async locate(name: string, ttlMs: number, now = Date.now()): Promise<StoredOutput | null> {
    const match = NAME.exec(name);
    if (!match) return null;
    const path = join(this.dir, name);
    try {
      const info = await stat(path);
      if (now - info.mtimeMs > ttlMs) return null;
      return { path, contentType: OUTPUT_TYPES[match[1] as OutputExtension], bytes: info.size };
    } catch {
      return null;
    }
  }

  async remove(name: string): Promise<void> {
    if (NAME.test(name)) await rm(join(this.dir, name), { force: true });
  }

  /** Delete outputs older than the TTL; returns the names removed. */
  async sweep(ttlMs: number, now = Date.now()): Promise<string[]> {
    const removed: string[] = [];
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return removed;
    }
    for (const name of names) {
      if (!NAME.test(name)) continue; // not ours: a shared outputDir may hold other files
      const path = join(this.dir, name);
      try {
        if (now - (await stat(path)).mtimeMs > ttlMs) {
          await rm(path, { force: true });
          removed.push(name);
        }
      } catch {
        // Removed concurrently: nothing to do.
      }
    }
    return removed;
  }

  async close(): Promise<void> {
    if (this.ownsDir) await rm(this.dir, { recursive: true, force: true });
  }
}
