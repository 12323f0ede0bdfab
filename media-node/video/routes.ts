import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { FastifyBaseLogger, FastifyInstance } from "fastify";
import sharp from "sharp";
import {
  type ChunkWindowRendered,
  type ChunkWindows,
  AssembleRequest,
  AssembleResponse,
  LastFrameRequest,
  LastFrameResponse,
  NormalizeChunkRequest,
  NormalizeChunkResponse,
  StitchRequest,
  StitchResponse,
  StitchWindowRequest,
  StitchWindowResponse,
  cueFrames,
} from "../../contracts/media.ts";
import { InputError, concerning, downloadTo, mapLimited, parse, settleAll, uploadTo, withTempDir } from "../io.ts";
import { paletteOf } from "../images/palette.ts";
import { MEDIA_PREFIX, type MediaNodeConfig } from "../config.ts";
import { extractLastFrame, normalizeChunk } from "./normalize.ts";
import { promoteBackground } from "../ffmpeg.ts";
import { probeChunks, stitchChunks } from "./stitch.ts";
import { assembleFinal, renderChunkWindows, renderWindow } from "./assembly.ts";
import { type Decorations, decoratedRanges } from "./decoration.ts";
import { chunkFramesUnder, layoutChunks } from "../../lib/stitch-plan.ts";
import { DIRECT_STORE, type PieceStore } from "../piece-cache.ts";

/**
 * Video capabilities of media-node:
 *   POST /v1/media/chunks/last-frame — provider clip → the last frame its chunk will have, PNG at last_frame_url
 *   POST /v1/media/chunks/normalize — provider clip → spliceable chunk at output_url (+ last frame PNG if asked)
 *   POST /v1/media/videos/stitch    — normalized chunks + transitions (+ overlay layers, burned captions) → stitched MP4 at output_url
 *   POST /v1/media/videos/stitch/window — the chunks normalized so far → one transition window (encode span) at output_url
 *   POST /v1/media/videos/assemble  — chunks + their windows + prepared music → final MP4 at output_url (stream copy, one pass)
 */

/** Provider clips and our chunks are short; a few hundred MB is far beyond any of them. */
const VIDEO_INPUT_MAX_BYTES = 512 * 1024 * 1024;
const VIDEO_INPUT_TIMEOUT_MS = 120_000;
const DOWNLOAD_CONCURRENCY = 4;
/** A full-frame RGBA PNG of mostly transparent pixels is tens of kB; a photo-like one a few MB. */
const OVERLAY_MAX_BYTES = 32 * 1024 * 1024;

export function registerVideoRoutes(app: FastifyInstance, config: MediaNodeConfig): void {
  // The chunks and windows stored here are kept for the final assembly, which reads them all.
  const pieces = config.pieces ?? DIRECT_STORE;
  app.post(`${MEDIA_PREFIX}chunks/last-frame`, async (request) => {
    const body = parse(LastFrameRequest, request.body);
    return withTempDir(config.tmpDir, async (dir) => {
      const input = join(dir, "raw");
      const lastFrame = join(dir, "last.png");
      await concerning("input_url", downloadTo(body.input_url, input, { maxBytes: VIDEO_INPUT_MAX_BYTES, timeoutMs: VIDEO_INPUT_TIMEOUT_MS }));
      // The frame is measured and stored as soon as it is extracted, while the clip's upload
      // (the larger one) may still run: the answer waits for the longer of the two, not their sum.
      const published = async () => {
        await extractLastFrame(input, lastFrame, { width: body.width, height: body.height, fps: body.fps, frames: body.frames }, { chained: body.chained, after: body.chain_after });
        const png = await readFile(lastFrame);
        const [palette] = await Promise.all([paletteOf(png), uploadTo(body.last_frame_url, png, "image/png")]);
        return palette;
      };
      const [palette] = await settleAll([published(), body.raw_url ? uploadTo(body.raw_url, input, "video/mp4") : null]);
      return LastFrameResponse.parse({ width: body.width, height: body.height, palette });
    });
  });

  app.post(`${MEDIA_PREFIX}chunks/normalize`, async (request) => {
    const body = parse(NormalizeChunkRequest, request.body);
    // The video's chunk phase now waits on every pass of it still running, not on this one alone.
    if (body.ends_chunk_phase && body.video_id) promoteBackground(body.video_id);
    return withTempDir(config.tmpDir, async (dir) => {
      const input = join(dir, "raw");
      const output = join(dir, "chunk.mp4");
      const lastFrame = body.last_frame_url ? join(dir, "last.png") : null;
      const given = body.decorations;
      const [, decorations] = await settleAll([
        concerning("input_url", downloadTo(body.input_url, input, { maxBytes: VIDEO_INPUT_MAX_BYTES, timeoutMs: VIDEO_INPUT_TIMEOUT_MS })),
        given ? downloadDecorations({ ...given, width: body.width, height: body.height, fps: body.fps }, dir, "decorations.") : null,
      ]);
      const draw = given && decorations ? { decorations, at: given.output_from_frame, assPath: join(dir, "captions.ass") } : undefined;
      // The windows' inputs (the neighbours' kept copies, their decorations) arrive while the pass runs.
      const windowInputs = body.windows ? chunkWindowInputs(body.windows, body, join(dir, "windows"), pieces) : null;
      windowInputs?.catch(() => undefined);
      const chunk = await normalizeChunk(
        input,
        output,
        lastFrame,
        { width: body.width, height: body.height, fps: body.fps, frames: body.frames, keyframes: body.keyframes, critical: body.ends_chunk_phase, group: body.video_id, preset: body.preset },
        draw,
      ).catch(async (error) => {
        await windowInputs?.catch(() => undefined);
        throw error;
      });
      const png = lastFrame ? await readFile(lastFrame) : null;
      const [palette, , windows] = await settleAll([
        png ? paletteOf(png) : [],
        pieces.upload(body.output_url, output, "video/mp4"),
        body.windows && windowInputs ? renderOwnWindows(body.windows, windowInputs, output, body, pieces, request.log) : null,
        png && body.last_frame_url ? uploadTo(body.last_frame_url, png, "image/png") : null,
      ]);
      return NormalizeChunkResponse.parse({
        frames: chunk.frames,
        duration_s: chunk.frames / body.fps,
        bytes: chunk.bytes,
        keyframes: chunk.keyframes,
        palette,
        decorated: draw ? chunkFramesUnder(decoratedRanges(draw.decorations), draw.at, chunk.frames) : [],
        ...(windows ? { windows } : {}),
      });
    });
  });

  app.post(`${MEDIA_PREFIX}videos/stitch`, async (request) => {
    const body = parse(StitchRequest, request.body);
    return withTempDir(config.tmpDir, async (dir) => {
      const [chunks, decorations] = await settleAll([downloadChunks(body.chunks, dir), downloadDecorations(body, dir)]);
      const output = join(dir, "stitched.mp4");
      const result = await stitchChunks(chunks, body.transitions, output, {
        width: body.width,
        height: body.height,
        fps: body.fps,
        method: body.method,
        workDir: dir,
        decorations,
      });
      await uploadTo(body.output_url, output, "video/mp4");
      return StitchResponse.parse({
        frames: result.frames,
        duration_s: result.frames / body.fps,
        bytes: result.bytes,
        method: result.method,
        encode_seconds: Math.round(result.encodeSeconds * 1000) / 1000,
        copied_frames: result.copiedFrames,
        decorated_frames: result.decoratedFrames,
      });
    });
  });

  app.post(`${MEDIA_PREFIX}videos/stitch/window`, async (request) => {
    const body = parse(StitchWindowRequest, request.body);
    return withTempDir(config.tmpDir, async (dir) => {
      // The chunks it reads were normalized here, most likely: read from the copies kept then.
      const [chunks, decorations] = await settleAll([downloadChunks(body.chunks, dir, pieces), downloadDecorations(body, dir)]);
      const output = join(dir, "window.mp4");
      const window = { from: body.window.from_frame, to: body.window.to_frame };
      const result = await concerning("window", renderWindow(chunks, body.transitions, window, output, { width: body.width, height: body.height, fps: body.fps, workDir: dir, decorations }));
      await pieces.upload(body.output_url, output, "video/mp4");
      return StitchWindowResponse.parse({
        frames: result.frames,
        chunks: result.chunks,
        decorated_frames: result.decoratedFrames,
        encode_seconds: Math.round(result.encodeSeconds * 1000) / 1000,
      });
    });
  });

  app.post(`${MEDIA_PREFIX}videos/assemble`, async (request) => {
    const body = parse(AssembleRequest, request.body);
    return withTempDir(config.tmpDir, async (dir) => {
      const audio = join(dir, "music.m4a");
      const size = { width: body.width, height: body.height, fps: body.fps };
      // The windows left to render (the last chunk's) read a few chunks: those download first and
      // the windows render while the rest download, which only the final concat needs.
      const layout = layoutChunks(body.chunks, body.transitions);
      const reads = body.render_windows.map((w) => chunksAround(layout.starts, body.chunks, w.from_frame, w.to_frame));
      const first = new Set(reads.flat());
      // Every piece is one this media-node stored moments ago, most likely: read from its copy when storage still holds those bytes.
      let kept = 0;
      const fetchPiece = async (field: string, url: string, etag: string | undefined, path: string) => {
        if ((await concerning(field, pieces.download(url, etag, path, { maxBytes: VIDEO_INPUT_MAX_BYTES, timeoutMs: VIDEO_INPUT_TIMEOUT_MS }))).kept) kept++;
        return path;
      };
      const download = (indexes: number[]) =>
        mapLimited(indexes, DOWNLOAD_CONCURRENCY, async (i) => [i, await fetchPiece(`chunks.${i}`, body.chunks[i]!.url, body.chunks[i]!.etag, join(dir, `chunk-${String(i).padStart(3, "0")}.mp4`))] as const);
      const firstFiles = download([...first]);
      const allFiles = firstFiles.then(async (files) => new Map([...files, ...(await download([...body.chunks.keys()].filter((i) => !first.has(i))))]));
      const decorations = downloadDecorations(body, dir);
      const render = body.render_windows.map((w, i) => ({ path: join(dir, `rendered-${String(i).padStart(3, "0")}.mp4`), from: w.from_frame, to: w.to_frame }));
      // Each window rendered goes up (for the seam measures) while the next renders and the concat runs.
      const windowUploads: Promise<unknown>[] = [];
      const renderWindows = async () => {
        const results = [];
        try {
          for (const [i, w] of render.entries()) {
            const files = new Map(await firstFiles);
            const chunks = body.chunks.map((c, j) => ({ path: reads[i]!.includes(j) ? files.get(j)! : null, frames: c.frames }));
            results.push(await concerning(`render_windows.${i}`, renderWindow(chunks, body.transitions, w, w.path, { ...size, workDir: dir, decorations: await decorations, critical: true })));
            const upload = pieces.upload(body.render_windows[i]!.output_url, w.path, "video/mp4");
            // Awaited by the store below, or, should the assembly fail first, before the temp dir goes.
            upload.catch(() => undefined);
            windowUploads.push(upload);
          }
        } catch (error) {
          // None still reads the temp dir when it is removed.
          await Promise.allSettled(windowUploads);
          throw error;
        }
        return results;
      };
      // The chunks are probed as they arrive, while the windows render: the concat then starts at once.
      const chunkProbes = allFiles.then((files) => probeChunks(body.chunks.map((c, i) => ({ path: files.get(i)!, frames: c.frames })), body.width, body.height, body.fps));
      chunkProbes.catch(() => undefined);
      const [rendered, files, windows, drawing] = await settleAll([
        renderWindows(),
        allFiles,
        mapLimited(body.windows, DOWNLOAD_CONCURRENCY, async (window, i) => ({ path: await fetchPiece(`windows.${i}`, window.url, window.etag, join(dir, `window-${String(i).padStart(3, "0")}.mp4`)), from: window.from_frame, to: window.to_frame })),
        decorations,
        fetchPiece("audio_url", body.audio_url, body.audio_etag, audio),
        chunkProbes,
      ]);
      const inputs = body.chunks.length + body.windows.length + 1;
      request.log.info({ event: "assemble.pieces", kept, downloaded: inputs - kept });
      const chunks = body.chunks.map((c, i) => ({ path: files.get(i)!, frames: c.frames }));
      const output = join(dir, "final.mp4");
      // The answer, which the video's end waits for, waits for the windows it rendered to be stored too.
      const store = () => settleAll([uploadTo(body.output_url, output, "video/mp4"), ...windowUploads]);
      const result = await assembleFinal(chunks, body.transitions, [...windows, ...render], audio, output, { ...size, workDir: dir, decorations: drawing }, store, chunkProbes).finally(() => Promise.allSettled(windowUploads));
      const renderSeconds = rendered.reduce((sum, r) => sum + r.encodeSeconds, 0);
      return AssembleResponse.parse({
        frames: result.frames,
        duration_s: result.durationS,
        video_duration_s: result.videoDurationS,
        audio_duration_s: result.audioDurationS,
        bytes: result.bytes,
        copied_frames: result.copiedFrames,
        decorated_frames: result.decoratedFrames,
        encode_seconds: Math.round((result.encodeSeconds + renderSeconds) * 1000) / 1000,
        rendered_frames: rendered.reduce((sum, r) => sum + r.frames, 0),
        render_seconds: Math.round(renderSeconds * 1000) / 1000,
        concat_seconds: Math.round(result.concatSeconds * 1000) / 1000,
        store_seconds: Math.round(result.storeSeconds * 1000) / 1000,
        kept_pieces: kept,
      });
    });
  });
}

/**
 * The chunks a window over output frames [from, to) reads, and the chunk on either side, whose
 * copies bound it: what the Worker fetches for a window job (worker/run/assembly.ts windowJobs),
 * so the window found among them is the one the Worker planned.
 */
function chunksAround(starts: readonly number[], chunks: readonly { frames: number }[], from: number, to: number): number[] {
  const read = chunks.flatMap((c, i) => (starts[i]! < to && starts[i]! + c.frames > from ? [i] : []));
  if (read.length === 0) return [];
  return [...new Set([read[0]! - 1, ...read, read.at(-1)! + 1])].filter((i) => i >= 0 && i < chunks.length);
}

/**
 * A request's normalized chunks, each downloaded into `dir`; a chunk without a URL (one a window
 * does not read) stays remote: `path` null. `at` is where the list sits in the request (`windows.`), for a refusal's field.
 */
function downloadChunks<U extends string | null>(chunks: readonly { url: U; etag?: string; frames: number }[], dir: string, pieces: PieceStore = DIRECT_STORE, at = ""): Promise<{ path: U extends string ? string : string | null; frames: number }[]> {
  return mapLimited(chunks, DOWNLOAD_CONCURRENCY, async (chunk, i) => {
    if (chunk.url === null) return { path: null as U extends string ? string : string | null, frames: chunk.frames };
    const path = join(dir, `chunk-${String(i).padStart(3, "0")}.mp4`);
    await concerning(`${at}chunks.${i}`, pieces.download(chunk.url, chunk.etag, path, { maxBytes: VIDEO_INPUT_MAX_BYTES, timeoutMs: VIDEO_INPUT_TIMEOUT_MS }));
    return { path, frames: chunk.frames };
  });
}

/**
 * The overlay layers (checked PNGs at the video's size) and burned cues of a stitch request, in
 * frames. `at` is where they sit in the request (`decorations.`, `windows.`), for a refusal's field.
 */
async function downloadDecorations(body: Pick<StitchRequest, "overlays" | "captions" | "width" | "height" | "fps">, dir: string, at = ""): Promise<Decorations> {
  const overlays = await mapLimited(body.overlays, DOWNLOAD_CONCURRENCY, async (overlay, i) => {
    const path = join(dir, `overlay-${String(i).padStart(2, "0")}.png`);
    const field = `${at}overlays.${i}`;
    await concerning(field, downloadTo(overlay.url, path, { maxBytes: OVERLAY_MAX_BYTES, timeoutMs: VIDEO_INPUT_TIMEOUT_MS }));
    const meta = await sharp(path, { limitInputPixels: body.width * body.height }).metadata().catch(() => null);
    if (!meta || meta.format !== "png") throw new InputError(`overlays[${i}] is not a PNG`, field);
    if (meta.width !== body.width || meta.height !== body.height) throw new InputError(`overlays[${i}] is ${meta.width}x${meta.height}, expected ${body.width}x${body.height}`, field);
    return { path, from: overlay.from_frame, to: overlay.to_frame };
  });
  const cues = (body.captions?.cues ?? []).map((cue) => ({ ...cueFrames(cue, body.fps), text: cue.text }));
  return { overlays, cues };
}

/** A normalize request's `windows`: the neighbours it reads (kept copies when stored here) and the windows' decorations, under `dir`. */
async function chunkWindowInputs(windows: ChunkWindows, size: { width: number; height: number; fps: number }, dir: string, pieces: PieceStore) {
  await mkdir(dir, { recursive: true });
  const others = windows.chunks.map((c, i) => (i === windows.chunk ? { ...c, url: null } : c));
  const [chunks, decorations] = await settleAll([downloadChunks(others, dir, pieces, "windows."), downloadDecorations({ ...windows, ...size }, dir, "windows.")]);
  return { chunks, decorations, dir };
}

/**
 * The windows the chunk just normalized (at `output`) leaves, rendered and stored, as the
 * response lists them. They are the final file's work moved into the pass; should they fail,
 * the pass still stands (answered with none rendered, logged) and the assembly renders them.
 */
async function renderOwnWindows(
  windows: ChunkWindows,
  given: ReturnType<typeof chunkWindowInputs>,
  output: string,
  size: { width: number; height: number; fps: number },
  store: PieceStore,
  log: FastifyBaseLogger,
): Promise<ChunkWindowRendered[]> {
  let rendered;
  let paths: string[] = [];
  try {
    const inputs = await given;
    const chunks = inputs.chunks.map((c, i) => (i === windows.chunk ? { path: output, frames: c.frames } : c));
    paths = windows.output_urls.map((_, i) => join(inputs.dir, `own-${i}.mp4`));
    rendered = await renderChunkWindows(chunks, windows.transitions, windows.chunk, paths, { ...size, workDir: inputs.dir, decorations: inputs.decorations, critical: true });
  } catch (error) {
    log.warn({ event: "normalize.windows_unrendered", error: (error as Error).message });
    return [];
  }
  if (rendered === null) {
    log.warn({ event: "normalize.windows_unrendered", error: `more windows than the ${paths.length} output_urls` });
    return [];
  }
  await settleAll(rendered.map((w, i) => store.upload(windows.output_urls[i]!, w.path, "video/mp4")));
  return rendered.map((w, i) => ({ from_frame: w.from, to_frame: w.to, output: i, frames: w.frames, decorated_frames: w.decoratedFrames }));
}
