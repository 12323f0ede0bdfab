import { describe, expect, it } from "vitest";
import { mediaRunOf } from "./media-runs.ts";

describe("mediaRunOf", () => {
  const ffmpeg = (...args: string[]) => mediaRunOf("ffmpeg", ["ffmpeg", "-hide_banner", ...args]);
  it("names each route's runs by the files they write", () => {
    expect(ffmpeg("-i", "/tmp/adreel-x/raw", "-c:v", "libx264", "-f", "mp4", "/tmp/adreel-x/chunk.mp4", "-f", "image2", "/tmp/adreel-x/last.png")).toBe("chunks/normalize: chunk");
    expect(ffmpeg("-i", "/tmp/adreel-x/raw", "-filter_complex", "movie=filename='/tmp/adreel-x/overlay-00.png',format=rgba[o];[0:v][o]overlay[c]", "-c:v", "libx264", "/tmp/adreel-x/chunk.mp4")).toBe("chunks/normalize: chunk, decorated");
    expect(ffmpeg("-threads", "1", "-i", "/tmp/adreel-x/raw", "-c:v", "png", "/tmp/adreel-x/last.png")).toBe("chunks/last-frame");
    expect(ffmpeg("-i", "/tmp/adreel-x/windows/a.mp4", "-c:v", "libx264", "/tmp/adreel-x/windows/own-0.mp4")).toBe("chunks/normalize: windows");
    expect(ffmpeg("-c:v", "libx264", "/tmp/adreel-x/window.mp4")).toBe("videos/stitch/window");
    expect(ffmpeg("-c:v", "libx264", "/tmp/adreel-x/rendered-002.mp4")).toBe("videos/assemble: windows");
    expect(ffmpeg("-f", "concat", "-i", "/tmp/adreel-x/assembly.ffconcat", "-i", "/tmp/adreel-x/music.m4a", "/tmp/adreel-x/final.mp4")).toBe("videos/assemble: concat");
    expect(ffmpeg("-i", "/tmp/adreel-x/video.mp4", "-i", "/tmp/adreel-x/music.m4a", "/tmp/adreel-x/final.mp4")).toBe("audio/mux");
    expect(ffmpeg("-c:v", "libx264", "/tmp/adreel-x/seams-0.mp4")).toBe("videos/stitch");
    expect(ffmpeg("-i", "/tmp/adreel-x/video.mp4", "-f", "rawvideo", "pipe:1")).toBe("videos/seams: frames");
    expect(ffmpeg("-i", "/tmp/adreel-x/music", "/tmp/adreel-x/music.m4a")).toBe("audio");
    expect(ffmpeg("-c:v", "libx264", "/tmp/other.mkv")).toBe("ffmpeg x264 (other.mkv)");
  });

  it("names the server and the other tools", () => {
    expect(mediaRunOf("node", ["node", "media-node/main.ts"])).toBe("server");
    expect(mediaRunOf("ffprobe", ["ffprobe", "-v", "error", "/tmp/x/chunk.mp4"])).toBe("ffprobe");
    expect(mediaRunOf("espeak-ng", ["espeak-ng", "-w", "/tmp/x/line.wav"])).toBe("espeak-ng (voice)");
    expect(mediaRunOf("esbuild", ["/x/esbuild", "--service=0.25.0", "--ping"])).toBe("esbuild");
    expect(mediaRunOf("ffmpeg", [])).toBe("ffmpeg (no command line: exiting)");
  });
});
