import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RESOLUTIONS } from "../../contracts/spec.ts";
import { ffmpeg } from "../ffmpeg.ts";
import { probeChunk } from "./chunk-probe.ts";
import { CHUNK_ENCODING, SEAM_ENCODING, type VideoEncoding, encoderArgs } from "./encoding.ts";

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "adreel-encoding-test-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function encode(name: string, encoding: VideoEncoding, source: string, frames: number) {
  const path = join(dir, `${name}.mp4`);
  await ffmpeg(["-f", "lavfi", "-i", source, "-frames:v", String(frames), ...encoderArgs(encoding, 24, [5]), path]);
  return probeChunk(path, name);
}

describe("CHUNK_ENCODING and SEAM_ENCODING", () => {
  it.each(Object.entries(RESOLUTIONS))("write the same parameter sets whatever the content (%s)", async (aspect, { width, height }) => {
    const tag = aspect.replace(":", "x");
    const chunk = await encode(`chunk-${tag}`, CHUNK_ENCODING, `testsrc2=s=${width}x${height}:r=24`, 12);
    const seam = await encode(`seam-${tag}`, SEAM_ENCODING, `mandelbrot=s=${width}x${height}:r=24`, 6);
    expect(seam.parameterSetsHash).toMatch(/^SHA256:[0-9a-f]{64}$/);
    expect(seam.parameterSetsHash).toBe(chunk.parameterSetsHash);
    // The forced keyframe and no other (keyint 24, scenecut off).
    expect(chunk.keyframes).toEqual([0, 5]);
  });
});
