// adreel's live page: submit an ad, follow it over the video's WebSocket, play the result.
import { $, duration, phaseText, usd } from "./page.js";
import { showCaptions, showCopy } from "./finish.js";
import { setUpRequestForm } from "./request-form.js";
import { hideSeams, showSeams } from "./seams.js";
import { setUpRender } from "./render-draft.js";
/** @typedef {"complete" | "failed" | "cancelled"} EndStatus The statuses a run ends in: contracts/api.ts EndStatus (test/structure.test.ts keeps the two equal). */
/** @type {readonly EndStatus[]} */
const END_STATUSES = ["complete", "failed", "cancelled"];

// `?key=` (printed by `npm run dev`) wins over a stored key, then leaves the address bar.
const query = new URLSearchParams(location.search);
const keyFromUrl = query.get("key");
if (keyFromUrl) {
  localStorage.setItem("adreel.key", keyFromUrl);
  query.delete("key");
  history.replaceState(null, "", `${location.pathname}${query.size ? `?${query}` : ""}${location.hash}`);
}

const state = {
  key: keyFromUrl || localStorage.getItem("adreel.key") || "",
  videoId: null,
  socket: null,
  lastEvent: null, // the last event seen (a snapshot counts as all before it); null until connected once
  status: null,
  costUsd: 0,
  pendingUsd: 0,
  estimateUsd: null,
  reconnects: 0,
  beats: [], // beat names, once planned
  spec: null, // the plan, once known: the beats block lists its beats
  completedOnce: false, // a complete video's beats can be regenerated
  regenerating: null, // the beat being rendered again, if any
  busy: false, // a regenerate request is on its way
  cells: new Map(), // chunk job id → grid cell
  boards: new Map(), // beat → storyboard figure
  refs: new Map(), // reference index → figure
};

$("api-key").value = state.key;
$("api-key").addEventListener("change", (e) => { state.key = e.target.value.trim(); localStorage.setItem("adreel.key", state.key); loadVideos(); });
$("creativity").addEventListener("input", (e) => { $("creativity-value").textContent = e.target.value; });

setUpRequestForm({ api, key: () => state.key, submitted(videoId, prompt) { watch(videoId, prompt); loadVideos(); } });

const render = setUpRender({ api, started(videoId) { watch(videoId); loadVideos(); } });
/** What the video's record adds once it is complete (null before): the captions link and the render offer. */
const showRecord = (v) => { showCaptions(v?.captions_url); render.offer(v); };

async function api(method, path, body) {
  const response = await fetch(path, { method, headers: { authorization: `Bearer ${state.key}`, ...(body ? { "content-type": "application/json" } : {}) }, body: body ? JSON.stringify(body) : undefined });
  const json = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(json.error || `HTTP ${response.status}`);
  return json;
}

$("cancel").addEventListener("click", async () => {
  try {
    await api("POST", `/api/video/${state.videoId}/cancel`);
  } catch (error) {
    $("run-error").textContent = error.message;
  }
});

// ---------------------------------------------------------------- following one video

function resetRun(id, prompt) {
  if (state.socket) { const old = state.socket; state.socket = null; old.close(); }
  Object.assign(state, { videoId: id, lastEvent: null, status: null, costUsd: 0, pendingUsd: 0, estimateUsd: null, reconnects: 0, beats: [], spec: null, completedOnce: false, regenerating: null, busy: false });
  state.cells.clear(); state.boards.clear(); state.refs.clear();
  $("run").hidden = false;
  $("video-id").textContent = id;
  $("run-prompt").textContent = prompt ?? "";
  for (const el of ["chunks", "references", "storyboard", "beats", "log"]) $(el).replaceChildren();
  for (const el of ["references-block", "storyboard-block", "chunks-block", "final-block", "beats-block", "copy-block"]) $(el).hidden = true;
  showRecord(null);
  for (const el of ["run-error", "eta", "cost", "references-message", "generation-time", "chunks-count", "beats-status", "beats-error"]) $(el).textContent = "";
  $("final").removeAttribute("src");
  hideSeams();
  $("progress").value = 0;
  $("progress-text").textContent = "0%";
  setPhase("queued");
  history.replaceState(null, "", `${location.pathname}${location.search}#video=${id}`);
  markCurrentRow();
}

function watch(id, prompt) {
  if (state.videoId !== id) resetRun(id, prompt);
  else if (state.socket) return;
  connect(id);
}

function connect(id) {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  // A reconnect replays what it missed (`since`); a first connection needs only the snapshot.
  const since = state.lastEvent === null ? "" : `since=${state.lastEvent}&`;
  const socket = new WebSocket(`${proto}://${location.host}/api/video/${id}/live?${since}access_token=${encodeURIComponent(state.key)}`);
  state.socket = socket;
  setConnection("connecting…");
  const keepalive = setInterval(() => socket.readyState === WebSocket.OPEN && socket.send("ping"), 20_000);
  socket.onopen = () => { state.reconnects = 0; setConnection("live"); };
  socket.onmessage = (message) => { if (message.data !== "pong") handle(JSON.parse(message.data)); };
  socket.onclose = () => {
    clearInterval(keepalive);
    if (state.socket !== socket) return; // replaced or closed on purpose
    state.socket = null;
    if (END_STATUSES.includes(state.status)) return setConnection("");
    // Resume from the last event id; the server replays what was missed.
    const delay = Math.min(10_000, 500 * 2 ** state.reconnects++);
    setConnection("reconnecting…");
    setTimeout(() => state.videoId === id && !state.socket && connect(id), delay);
  };
}

function setConnection(text) {
  $("connection").textContent = text;
  $("connection").dataset.state = text.replace("…", "");
}

function setPhase(phase) {
  if (!phase) return;
  $("phase").textContent = phaseText(phase);
  $("phase").dataset.phase = phase;
}

function setProgress(progress, { restart = false } = {}) {
  // Never moves back within a pass; a regenerated beat starts a new pass.
  if (typeof progress !== "number" || (progress < $("progress").value && !restart)) return;
  $("progress").value = progress;
  $("progress-text").textContent = `${progress.toFixed(0)}%`;
}

function setStatus(status) {
  if (!status) return;
  state.status = status;
  if (status === "complete") state.completedOnce = true;
  $("cancel").hidden = END_STATUSES.includes(status);
  if (END_STATUSES.includes(status)) $("eta").textContent = "";
  updateBeatControls();
}

/** Spent only rises (a late or replayed frame never takes it back); predictions still running are shown beside it at their estimate. */
function setCost(costUsd, estimateUsd, pendingUsd) {
  if (typeof costUsd === "number") state.costUsd = Math.max(state.costUsd, costUsd);
  if (typeof estimateUsd === "number") state.estimateUsd = estimateUsd;
  if (typeof pendingUsd === "number") state.pendingUsd = pendingUsd;
  const running = state.pendingUsd > 0 && !END_STATUSES.includes(state.status) ? ` (+${usd(state.pendingUsd)} running)` : "";
  $("cost").textContent = `Cost so far ${usd(state.costUsd)}${running}${state.estimateUsd !== null ? ` of an estimated ${usd(state.estimateUsd)}` : ""}`;
}

function setEta(seconds) {
  if (typeof seconds === "number" && !END_STATUSES.includes(state.status)) $("eta").textContent = `About ${duration(seconds)} left ·`;
}

function log(event) {
  const li = document.createElement("li");
  const job = event.job ? ` ${event.job.id} ${event.job.status}${event.job.attempt > 1 ? ` (attempt ${event.job.attempt})` : ""}` : "";
  li.textContent = `${new Date(event.at ?? Date.now()).toLocaleTimeString()} #${event.id} ${event.type}${event.phase && event.type !== "progress" ? ` ${event.phase}` : ""}${typeof event.progress === "number" ? ` ${event.progress}%` : ""}${job}${event.message ? ` — ${event.message}` : ""}${event.reason ? ` — ${event.reason}` : ""}${event.error ? ` — ${event.error}` : ""}`;
  $("log").append(li);
}

const chunkId = (n) => `chunk:${String(n).padStart(3, "0")}`;

function chunkCell(id, beat) {
  let cell = state.cells.get(id);
  if (!cell) {
    cell = document.createElement("div");
    cell.className = "cell";
    cell.dataset.job = id;
    cell.dataset.status = "waiting";
    cell.innerHTML = `<span class="label"></span>`;
    state.cells.set(id, cell);
    $("chunks").replaceChildren(...[...state.cells.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, c]) => c));
    $("chunks-block").hidden = false;
  }
  if (typeof beat === "number") cell.dataset.beat = String(beat);
  return cell;
}

function updateChunk(job) {
  const cell = chunkCell(job.id, job.beat);
  cell.dataset.status = job.status;
  const beat = cell.dataset.beat !== undefined ? ` · beat ${cell.dataset.beat}` : "";
  cell.querySelector(".label").textContent = `${job.id.replace("chunk:", "#")}${beat} · ${job.status}${job.attempt > 1 ? ` · try ${job.attempt}` : ""}`;
  const done = [...state.cells.values()].filter((c) => c.dataset.status === "done").length;
  $("chunks-count").textContent = `${done} of ${state.cells.size} done`;
  return cell;
}

function placeholders(plan) {
  for (const chunk of plan) {
    const id = chunkId(chunk.chunk_num);
    if (!state.cells.has(id)) updateChunk({ id, beat: chunk.beat_index, status: "waiting", attempt: 1 });
  }
}

/** A chunk's last frame, shown as soon as it is published; it stays as the cell's picture once the chunk is done. */
function framePreview(cell, url) {
  let img = cell.querySelector("img.frame");
  if (!img) {
    img = document.createElement("img");
    img.className = "frame";
    img.alt = "";
    cell.prepend(img);
  }
  img.src = url;
  const video = cell.querySelector("video");
  if (video) video.poster = url;
}

/**
 * A finished chunk plays once as it arrives, then gives way to its last frame, which stays; hovering
 * replays it. (Looping them all would keep a core busy, and a player that is paused, off screen or
 * unloaded by the browser can paint nothing: the frame is what keeps the cell from going blank.)
 */
function preview(cell, url, frameUrl) {
  if (frameUrl) framePreview(cell, frameUrl);
  if (cell.querySelector("video")) return;
  const video = document.createElement("video");
  Object.assign(video, { muted: true, autoplay: true, playsInline: true, preload: "auto" });
  const frame = cell.querySelector("img.frame");
  if (frame) video.poster = frame.src;
  video.src = url;
  video.onended = () => { if (cell.querySelector("img.frame")) video.hidden = true; };
  cell.onmouseenter = () => { video.hidden = false; video.currentTime = 0; video.play().catch(() => undefined); };
  cell.append(video);
}

function figure(map, key, container, url, caption) {
  let fig = map.get(key);
  if (!fig) {
    fig = document.createElement("figure");
    fig.innerHTML = `<img alt=""><figcaption></figcaption>`;
    map.set(key, fig);
    $(container).replaceChildren(...[...map.entries()].sort(([a], [b]) => a - b).map(([, f]) => f));
    $(`${container}-block`).hidden = false;
  }
  fig.querySelector("img").src = url;
  fig.querySelector("img").alt = caption;
  fig.querySelector("figcaption").textContent = caption;
}

const beatCaption = (beat) => `beat ${beat}${state.beats[beat] ? ` · ${state.beats[beat]}` : ""}`;
const referenceCaption = (r) => `${r.type} · ${r.source === "generated" ? "generated" : "brand asset"}`;

function showReferences(images, message) {
  images.forEach((r, i) => figure(state.refs, r.index ?? indexIn(r.url, /\/references\/(\d+)\.png/) ?? i, "references", r.url, referenceCaption(r)));
  if (message) $("references-message").textContent = message;
}

function showFinal(url, seconds, posterUrl) {
  if ($("final").getAttribute("src") !== url) $("final").src = url;
  if (posterUrl) $("final").poster = posterUrl;
  $("download").href = url;
  $("download").setAttribute("download", `adreel-${state.videoId}.mp4`);
  if (typeof seconds === "number") $("generation-time").textContent = `made in ${duration(seconds)}`;
  $("final-block").hidden = false;
}

const indexIn = (url, pattern) => { const m = pattern.exec(new URL(url, location.href).pathname); return m ? Number(m[1]) : null; };

/** A (re)connection starts with a snapshot; its media URLs are signed by the API, so fetch the record once. */
async function applySnapshot(s) {
  setStatus(s.status);
  setPhase(s.phase);
  setProgress(s.progress);
  setCost(s.cost_usd, s.cost_estimate?.total_usd, s.cost_pending_usd);
  setEta(s.estimated_time_remaining);
  if (s.request?.prompt) $("run-prompt").textContent = s.request.prompt;
  if (s.error) $("run-error").textContent = s.error;
  if (s.spec) setSpec(s.spec);
  if (s.chunk_plan) placeholders(s.chunk_plan);
  for (const job of s.jobs.filter((j) => j.kind === "chunk")) updateChunk(job);
  const v = await api("GET", `/api/video/${s.video_id}`);
  if (state.videoId !== s.video_id) return;
  if (v.reference_images.length) showReferences(v.reference_images, `Using these ${v.reference_images.length} reference images for visual consistency across all scenes`);
  v.storyboard_images.forEach((url, i) => { const beat = indexIn(url, /\/storyboard\/(\d+)\.png/) ?? i; figure(state.boards, beat, "storyboard", url, beatCaption(beat)); });
  v.chunk_urls.forEach((url, i) => {
    const n = indexIn(url, /\/chunks\/(\d+)\.mp4/);
    if (n !== null) preview(chunkCell(chunkId(n)), url, v.chunk_frame_urls?.[i]);
  });
  if (v.final_video_url) showFinal(v.final_video_url, v.generation_time_seconds, v.poster_url);
  // The record carries them (consistency.seams); the snapshot holds the same report in the stitch output.
  showSeams(v.consistency?.seams?.length ? v.consistency : s.outputs?.stitch?.seams, s.spec?.fps);
  showRecord(v);
}

function handle(event) {
  if (typeof event.id === "number") state.lastEvent = Math.max(state.lastEvent ?? 0, event.id);
  if (event.type === "snapshot") {
    if (!event.snapshot) { $("run-error").textContent = "This video has no run."; return; }
    applySnapshot(event.snapshot).catch((error) => { $("run-error").textContent = `Could not load the video's media: ${error.message}`; });
    return;
  }
  log(event);
  setStatus(event.status);
  if (event.type === "phase" || event.type === "progress" || END_STATUSES.includes(event.type)) setPhase(event.phase);
  setProgress(event.progress);
  if (typeof event.cost_usd === "number") setCost(event.cost_usd, undefined, event.cost_pending_usd);
  setEta(event.estimated_time_remaining);
  const job = event.job;
  if (job?.kind === "chunk") {
    const cell = updateChunk(job);
    // A chunk sent back (a new attempt, or restarted from a re-rendered frame) drops its stale frame.
    if (["waiting", "ready", "queued"].includes(job.status)) cell.querySelector("img.frame")?.remove();
    // The frame comes as it is published, or with the clip for the chunk its ingest normalized.
    if ((job.status === "normalizing" || job.status === "done") && event.frame_url) framePreview(cell, event.frame_url);
    if (job.status === "done" && event.preview_url) preview(cell, event.preview_url);
  }
  if (job?.kind === "stitch" && job.status === "done") showSeams(event.output?.seams, state.spec?.fps);
  if (job?.kind === "storyboard" && job.status === "done" && event.preview_url) figure(state.boards, job.beat, "storyboard", event.preview_url, beatCaption(job.beat));
  if (job?.kind === "reference" && job.status === "done" && event.preview_url) figure(state.refs, job.idx, "references", event.preview_url, `reference ${job.idx + 1}`);
  switch (event.type) {
    case "spec":
      setSpec(event.spec);
      setCost(undefined, event.cost_estimate?.total_usd);
      placeholders(Array.from({ length: event.chunks }, (_, i) => ({ chunk_num: i })));
      break;
    case "reference_images_ready":
      showReferences(event.images, event.message);
      break;
    case "regenerate":
      startRegeneration(event.beat, event.chunk_nums);
      break;
    case "complete":
      setProgress(100);
      if (event.final_video_url) showFinal(event.final_video_url, event.generation_time_seconds);
      // The player's still, the captions' signed URL and the render offer are in the video's record (the event carries only the video).
      api("GET", `/api/video/${state.videoId}`).then((v) => {
        if (state.videoId !== v.video_id) return;
        if (v.poster_url) $("final").poster = v.poster_url;
        showRecord(v);
      }, () => showCaptions(null));
      endRegeneration(`Beat ${state.regenerating} was rendered again: the ad above is the new version.`);
      finish();
      break;
    case "failed":
    case "cancelled":
      $("run-error").textContent = event.error || event.type;
      endRegeneration(`Regenerating beat ${state.regenerating} ended: ${event.type}.`);
      finish();
      break;
  }
}

// ---------------------------------------------------------------- regenerating one beat

function setSpec(spec) {
  state.spec = spec;
  showCopy(spec.copy);
  state.beats = spec.beats.map((b) => b.name);
  renderBeats();
}

const seconds = (frames) => (frames / (state.spec?.fps ?? 24)).toFixed(1);

/** One row per beat of the plan: its time and prompt and, once the video is complete, a control to render it again. */
function renderBeats() {
  const typed = new Map([...$("beats").children].map((li) => [li.dataset.beat, li.querySelector("input").value]));
  $("beats").replaceChildren(...(state.spec?.beats ?? []).map((b) => {
    const li = document.createElement("li");
    li.dataset.beat = String(b.index);
    li.innerHTML = `<div><strong class="beat-name"></strong> <span class="hint"></span></div><p class="beat-prompt"></p><form class="beat-redo"><input type="text" maxlength="2000"><button type="submit" class="secondary small">Regenerate</button></form>`;
    li.querySelector(".beat-name").textContent = beatCaption(b.index);
    li.querySelector(".hint").textContent = `${seconds(b.start_frame)}–${seconds(b.start_frame + b.frames)} s`;
    li.querySelector(".beat-prompt").textContent = b.prompt;
    const input = li.querySelector("input");
    input.placeholder = "New prompt (optional: empty keeps the one above)";
    input.setAttribute("aria-label", `New prompt for beat ${b.index} (optional)`);
    input.value = typed.get(li.dataset.beat) ?? "";
    li.querySelector("button").setAttribute("aria-label", `Regenerate beat ${b.index}`);
    li.querySelector("form").addEventListener("submit", (event) => {
      event.preventDefault();
      regenerate(b.index, input.value.trim());
    });
    return li;
  }));
  updateBeatControls();
}

/** The beats block shows with the plan; its controls once the video has completed, usable only while it is complete. */
function updateBeatControls() {
  $("beats-block").hidden = !state.spec;
  for (const li of $("beats").children) {
    li.classList.toggle("regenerating", String(state.regenerating) === li.dataset.beat);
    li.querySelector("form").hidden = !state.completedOnce;
    for (const control of li.querySelectorAll("input, button")) control.disabled = state.status !== "complete" || state.busy;
  }
}

async function regenerate(beat, prompt) {
  const id = state.videoId;
  $("beats-error").textContent = "";
  state.busy = true;
  updateBeatControls();
  try {
    const answer = await api("POST", `/api/video/${id}/beats/${beat}/regenerate`, prompt ? { prompt } : undefined);
    if (state.videoId !== id) return;
    startRegeneration(answer.beat, answer.chunks);
    const input = $("beats").querySelector(`li[data-beat="${beat}"] input`);
    if (input) input.value = "";
    // The socket closed when the video completed: follow it again from the last event seen
    // (the run's `regenerate` event and everything after it).
    if (!state.socket) connect(id);
    loadVideos();
  } catch (error) {
    $("beats-error").textContent = `Beat ${beat}: ${error.message}`;
  } finally {
    state.busy = false;
    updateBeatControls();
  }
}

/**
 * The beat's chunks go back to waiting (the first is ready), without their previews; the other
 * beats keep theirs. The final video is being made again under the same name, so the player lets
 * go of the old one until `complete` brings the new one. Applied once: on the POST's answer, or
 * on the run's event when the regeneration was started elsewhere (the replayed event that
 * follows the POST's answer must not undo what the reconnection's snapshot showed since).
 */
function startRegeneration(beat, chunkNums) {
  if (state.regenerating === beat) return;
  state.regenerating = beat;
  setStatus("processing");
  setPhase("generating_chunks");
  setProgress(0, { restart: true });
  $("beats-status").textContent = `Regenerating beat ${beatCaption(beat).replace(/^beat /, "")}: ${chunkNums.length} chunk${chunkNums.length === 1 ? "" : "s"}, then stitching and music again.`;
  for (const cell of state.cells.values()) cell.classList.toggle("redo", cell.dataset.beat === String(beat));
  chunkNums.forEach((n, i) => {
    const cell = chunkCell(chunkId(n), beat);
    cell.classList.add("redo");
    cell.querySelector("video")?.remove();
    cell.querySelector("img.frame")?.remove();
    cell.onmouseenter = null;
    updateChunk({ id: chunkId(n), beat, status: i === 0 ? "ready" : "waiting", attempt: 1 });
  });
  const final = $("final");
  final.pause();
  final.removeAttribute("src");
  final.load();
  $("final-block").hidden = true;
  hideSeams();
  updateBeatControls();
}

function endRegeneration(message) {
  if (state.regenerating === null) return;
  $("beats-status").textContent = message;
  state.regenerating = null;
  for (const cell of state.cells.values()) cell.classList.remove("redo");
  updateBeatControls();
}

function finish() {
  const socket = state.socket;
  state.socket = null;
  socket?.close();
  setConnection("");
  loadVideos();
}

// ---------------------------------------------------------------- past videos

function markCurrentRow() {
  for (const tr of $("videos").children) tr.classList.toggle("current", tr.dataset.video === state.videoId);
}

async function loadVideos() {
  if (!state.key) {
    $("form-error").textContent = "Enter your API key above (npm run dev prints a link with one).";
    return;
  }
  try {
    const { videos } = await api("GET", "/api/videos?limit=20");
    $("videos").replaceChildren(...videos.map((v) => {
      const tr = document.createElement("tr");
      tr.className = "clickable";
      tr.dataset.video = v.video_id;
      tr.dataset.status = v.status;
      const cells = [new Date(v.created_at).toLocaleString(), v.prompt, `${v.duration_s} s · ${v.aspect_ratio}`, v.status === "processing" ? `${phaseText(v.current_phase)} ${Math.round(v.progress)}%` : v.status, usd(v.cost_usd)];
      for (const text of cells) { const td = document.createElement("td"); td.textContent = text; tr.append(td); }
      tr.title = v.error ?? v.prompt;
      tr.addEventListener("click", () => { watch(v.video_id, v.prompt); $("run").scrollIntoView({ behavior: "smooth" }); });
      return tr;
    }));
    $("videos-empty").hidden = videos.length > 0;
    markCurrentRow();
  } catch (error) {
    $("form-error").textContent = error.message;
  }
}

$("refresh").addEventListener("click", loadVideos);
loadVideos();
// A reload keeps following the video in the address (#video=<id>).
const resumed = /^#video=([0-9a-f-]{36})$/.exec(location.hash);
if (resumed && state.key) watch(resumed[1]);
