import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ffmpeg, ffprobe } from "../ffmpeg.ts";
import { InputError } from "../io.ts";
import { probeOutput, probeWithFfprobe } from "./chunk-probe.ts";
import { readMp4AudioIsAac, readMp4Durations, readMp4VideoIndex } from "./mp4-index.ts";
import { normalizeChunk } from "./normalize.ts";
import { synthClip } from "../../test/support/synth-media.ts";

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "adreel-mp4-index-test-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("readMp4VideoIndex", () => {
  it("reads what ffprobe reports for our chunks: frames, keyframes, rate, size, parameter sets", async () => {
    const raw = join(dir, "raw.mp4");
    await synthClip(raw, { source: "testsrc2", width: 320, height: 180, fps: 30, seconds: 2 });
    const chunk = join(dir, "chunk.mp4");
    await normalizeChunk(raw, chunk, join(dir, "last.png"), { width: 256, height: 144, fps: 24, frames: 40, keyframes: [7, 30] });
    // Without +faststart the index sits after the media data.
    const tailMoov = join(dir, "tail-moov.mp4");
    await ffmpeg(["-i", chunk, "-c", "copy", "-f", "mp4", tailMoov]);
    for (const file of [chunk, tailMoov]) {
      const index = await readMp4VideoIndex(file);
      const probe = await probeWithFfprobe(file, "chunk");
      expect(index).toEqual({ ...probe, codec: "h264" });
      expect(index).toMatchObject({ width: 256, height: 144, fps: 24, frames: 40 });
      expect(index?.keyframes).toEqual(expect.arrayContaining([0, 7, 30]));
    }
  });

  it("declines files it cannot vouch for, so the caller asks ffprobe", async () => {
    // x264 defaults: B-frames, so the edit list delays the media.
    const bframes = join(dir, "bframes.mp4");
    await ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=160x90:r=24", "-frames:v", "24", "-c:v", "libx264", bframes]);
    expect(await readMp4VideoIndex(bframes)).toBeNull();
    const audioOnly = join(dir, "audio.m4a");
    await ffmpeg(["-f", "lavfi", "-i", "sine=d=0.5", "-c:a", "aac", audioOnly]);
    expect(await readMp4VideoIndex(audioOnly)).toBeNull();
    const junk = join(dir, "junk.mp4");
    await writeFile(junk, Buffer.alloc(64, 7));
    expect(await readMp4VideoIndex(junk)).toBeNull();
  });
});

describe("readMp4AudioIsAac", () => {
  it("tells AAC from another codec in an MP4 as ffprobe does, and declines what it cannot read", async () => {
    const aac = join(dir, "aac.m4a");
    await ffmpeg(["-f", "lavfi", "-i", "sine=d=0.5", "-c:a", "aac", "-movflags", "+faststart", "-f", "mp4", aac]);
    // MP3 in MP4 is an mp4a entry too: only its decoder configuration's object type tells them apart.
    const mp3 = join(dir, "mp3.mp4");
    await ffmpeg(["-f", "lavfi", "-i", "sine=d=0.5", "-c:a", "libmp3lame", "-f", "mp4", mp3]);
    const ac3 = join(dir, "ac3.mp4");
    await ffmpeg(["-f", "lavfi", "-i", "sine=d=0.5", "-c:a", "ac3", "-f", "mp4", ac3]);
    expect(await readMp4AudioIsAac(aac)).toBe(true);
    expect(await readMp4AudioIsAac(mp3)).toBe(false);
    expect(await readMp4AudioIsAac(ac3)).toBe(false);
    for (const file of [aac, mp3, ac3]) {
      const probe = await ffprobe(file);
      expect(probe.streams[0]?.codec_name === "aac").toBe(await readMp4AudioIsAac(file));
    }
    const wav = join(dir, "sine.wav");
    await ffmpeg(["-f", "lavfi", "-i", "sine=d=0.5", wav]);
    expect(await readMp4AudioIsAac(wav)).toBeNull();
    const videoOnly = join(dir, "video-only.mp4");
    await ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=160x90:r=24", "-frames:v", "4", "-c:v", "libx264", videoOnly]);
    expect(await readMp4AudioIsAac(videoOnly)).toBeNull();
  });
});

describe("probeOutput", () => {
  it("takes a file this service wrote and cannot read as its own failure, not the client's", async () => {
    const dir = await mkdtemp(join(tmpdir(), "adreel-probe-output-"));
    try {
      const path = join(dir, "cut.mp4");
      await writeFile(path, Buffer.from("ftyp cut short before its moov"));
      const probing = probeOutput(path, "normalized chunk");
      await expect(probing).rejects.toThrow(/the normalized chunk just written is unreadable/);
      await expect(probing).rejects.not.toBeInstanceOf(InputError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("readMp4Durations", () => {
  it("reads the file's and its audio's lengths as ffprobe reports them, and declines a file with no audio", async () => {
    // AAC's priming cut by an edit list, and music longer than the picture cut by -t.
    const muxed = join(dir, "muxed.mp4");
    await ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=160x90:r=24", "-f", "lavfi", "-i", "sine=frequency=440:duration=5", "-c:v", "libx264", "-bf", "0", "-c:a", "aac", "-t", (71 / 24).toFixed(6), "-movflags", "+faststart", muxed]);
    const probe = await ffprobe(muxed, false);
    const read = await readMp4Durations(muxed);
    expect(read).not.toBeNull();
    expect(Math.abs(read!.durationS - Number(probe.format.duration))).toBeLessThanOrEqual(0.001);
    expect(Math.abs(read!.audioDurationS - Number(probe.streams.find((s) => s.codec_type === "audio")?.duration))).toBeLessThanOrEqual(0.001);
    const silent = join(dir, "silent.mp4");
    await ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=160x90:r=24", "-frames:v", "24", "-c:v", "libx264", silent]);
    expect(await readMp4Durations(silent)).toBeNull();
    const text = join(dir, "not-mp4.mp4");
    await writeFile(text, "not an mp4");
    expect(await readMp4Durations(text)).toBeNull();
  });
});
