// adreel's live page: submit an ad, follow it over the video's WebSocket, play the result.
const $ = (id) => document.getElementById(id);
const TERMINAL = ["complete", "failed", "cancelled"];

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
  lastEvent: 0,
  status: null,
  costUsd: 0,
  estimateUsd: null,
  reconnects: 0,
  beats: [], // beat names, once planned
  cells: new Map(), // chunk job id → grid cell
  boards: new Map(), // beat → storyboard figure
  refs: new Map(), // reference index → figure
};

$("api-key").value = state.key;
$("api-key").addEventListener("change", (e) => { state.key = e.target.value.trim(); localStorage.setItem("adreel.key", state.key); loadVideos(); });
$("creativity").addEventListener("input", (e) => { $("creativity-value").textContent = e.target.value; });

async function api(method, path, body) {
  const response = await fetch(path, { method, headers: { authorization: `Bearer ${state.key}`, ...(body ? { "content-type": "application/json" } : {}) }, body: body ? JSON.stringify(body) : undefined });
  const json = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(json.error || `HTTP ${response.status}`);
  return json;
}

const urls = (value) => value.split(",").map((s) => s.trim()).filter(Boolean);
// Draft ads cost fractions of a cent: show those, without drowning dollars in digits.
const usd = (n) => `$${Number(n).toFixed(Number(n) !== 0 && Math.abs(n) < 1 ? 4 : 2)}`;
const phaseText = (phase) => String(phase).replaceAll("_", " ");

function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return s >= 60 ? `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}

function requestBody() {
  const body = {
    prompt: $("prompt").value,
    duration_s: Number($("duration").value),
    aspect_ratio: $("aspect").value,
    creativity_level: Number($("creativity").value),
    quality: $("quality").value,
  };
  if ($("archetype").value) body.archetype = $("archetype").value;
  const product = urls($("product-images").value), character = urls($("character-images").value), logo = $("logo").value.trim();
  if (product.length || character.length || logo) body.brand_assets = { product_images: product, character_images: character, logo: logo || null };
  if ($("max-cost").value) body.max_cost_usd = Number($("max-cost").value);
  return body;
}

$("generate-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("form-error").textContent = "";
  $("submit").disabled = true;
  try {
    const body = requestBody();
    const { video_id } = await api("POST", "/api/generate", body);
    watch(video_id, body.prompt);
    loadVideos();
  } catch (error) {
    $("form-error").textContent = error.message;
  } finally {
    $("submit").disabled = false;
  }
});

$("estimate").addEventListener("click", async () => {
  $("form-error").textContent = "";
  $("estimate-result").textContent = "Planning…";
  try {
    const { spec, cost_estimate } = await api("POST", "/api/generate", { ...requestBody(), dry_run: true });
    $("estimate-result").textContent = `Estimated ${usd(cost_estimate.total_usd)} for ${spec.duration_s} s ${spec.aspect_ratio} as “${phaseText(spec.archetype)}”: ${spec.beats.map((b) => b.name).join(" → ")}`;
  } catch (error) {
    $("estimate-result").textContent = "";
    $("form-error").textContent = error.message;
  }
});

// Brand images are uploaded first (checked and stored by the API); the form then refers to them as asset:<id>.
for (const input of document.querySelectorAll("input[type=file][data-target]")) {
  input.addEventListener("change", async () => {
    const target = $(input.dataset.target);
    $("form-error").textContent = "";
    $("submit").disabled = true;
    try {
      for (const file of input.files) {
        $("upload-status").textContent = `Uploading ${file.name}…`;
        const response = await fetch("/api/assets", { method: "POST", headers: { authorization: `Bearer ${state.key}`, "content-type": file.type || "application/octet-stream" }, body: file });
        const json = await response.json().catch(() => ({}));
        if (!response.ok) throw new Error(`${file.name}: ${json.error || `HTTP ${response.status}`}`);
        target.value = input.multiple ? [...urls(target.value), json.ref].join(", ") : json.ref;
        $("upload-status").textContent = `${file.name} (${json.width}×${json.height}) is ready as ${json.ref}`;
      }
    } catch (error) {
      $("upload-status").textContent = "";
      $("form-error").textContent = error.message;
    } finally {
      input.value = "";
      $("submit").disabled = false;
    }
  });
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
  Object.assign(state, { videoId: id, lastEvent: 0, status: null, costUsd: 0, estimateUsd: null, reconnects: 0, beats: [] });
  state.cells.clear(); state.boards.clear(); state.refs.clear();
  $("run").hidden = false;
  $("video-id").textContent = id;
  $("run-prompt").textContent = prompt ?? "";
  for (const el of ["chunks", "references", "storyboard", "log"]) $(el).replaceChildren();
  for (const el of ["references-block", "storyboard-block", "chunks-block", "final-block"]) $(el).hidden = true;
  for (const el of ["run-error", "eta", "cost", "references-message", "generation-time", "chunks-count"]) $(el).textContent = "";
  $("final").removeAttribute("src");
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
  const socket = new WebSocket(`${proto}://${location.host}/api/video/${id}/live?since=${state.lastEvent}&access_token=${encodeURIComponent(state.key)}`);
  state.socket = socket;
  setConnection("connecting…");
  const keepalive = setInterval(() => socket.readyState === WebSocket.OPEN && socket.send("ping"), 20_000);
  socket.onopen = () => { state.reconnects = 0; setConnection("live"); };
  socket.onmessage = (message) => { if (message.data !== "pong") handle(JSON.parse(message.data)); };
  socket.onclose = () => {
    clearInterval(keepalive);
    if (state.socket !== socket) return; // replaced or closed on purpose
    state.socket = null;
    if (TERMINAL.includes(state.status)) return setConnection("");
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

function setProgress(progress) {
  if (typeof progress !== "number" || progress < $("progress").value) return; // never moves back
  $("progress").value = progress;
  $("progress-text").textContent = `${progress.toFixed(0)}%`;
}

function setStatus(status) {
  if (!status) return;
  state.status = status;
  $("cancel").hidden = TERMINAL.includes(status);
  if (TERMINAL.includes(status)) $("eta").textContent = "";
}

function setCost(costUsd, estimateUsd) {
  if (typeof costUsd === "number") state.costUsd = costUsd;
  if (typeof estimateUsd === "number") state.estimateUsd = estimateUsd;
  $("cost").textContent = `Cost so far ${usd(state.costUsd)}${state.estimateUsd !== null ? ` of an estimated ${usd(state.estimateUsd)}` : ""}`;
}

function setEta(seconds) {
  if (typeof seconds === "number" && !TERMINAL.includes(state.status)) $("eta").textContent = `About ${duration(seconds)} left ·`;
}

function log(event) {
  const li = document.createElement("li");
  const job = event.job ? ` ${event.job.id} ${event.job.status}${event.job.attempt > 1 ? ` (attempt ${event.job.attempt})` : ""}` : "";
  li.textContent = `${new Date(event.at ?? Date.now()).toLocaleTimeString()} #${event.id} ${event.type}${event.phase && event.type !== "progress" ? ` ${event.phase}` : ""}${typeof event.progress === "number" ? ` ${event.progress}%` : ""}${job}${event.message ? ` — ${event.message}` : ""}${event.reason ? ` — ${event.reason}` : ""}${event.error ? ` — ${event.error}` : ""}`;
  $("log").append(li);
}

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
    const id = `chunk:${String(chunk.chunk_num).padStart(3, "0")}`;
    if (!state.cells.has(id)) updateChunk({ id, beat: chunk.beat_index, status: "waiting", attempt: 1 });
  }
}

/** A finished chunk plays once as it arrives, then holds its last frame; hovering replays it. (Looping them all would keep a core busy.) */
function preview(cell, url) {
  if (cell.querySelector("video")) return;
  const video = document.createElement("video");
  Object.assign(video, { muted: true, autoplay: true, playsInline: true, preload: "auto" });
  video.src = url;
  cell.addEventListener("mouseenter", () => { video.currentTime = 0; video.play().catch(() => undefined); });
  cell.prepend(video);
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

function showFinal(url, seconds) {
  if ($("final").getAttribute("src") !== url) $("final").src = url;
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
  setCost(s.cost_usd, s.cost_estimate?.total_usd);
  setEta(s.estimated_time_remaining);
  if (s.request?.prompt) $("run-prompt").textContent = s.request.prompt;
  if (s.error) $("run-error").textContent = s.error;
  if (s.spec) state.beats = s.spec.beats.map((b) => b.name);
  if (s.chunk_plan) placeholders(s.chunk_plan);
  for (const job of s.jobs.filter((j) => j.kind === "chunk")) updateChunk(job);
  const v = await api("GET", `/api/video/${s.video_id}`);
  if (state.videoId !== s.video_id) return;
  if (v.reference_images.length) showReferences(v.reference_images, `Using these ${v.reference_images.length} reference images for visual consistency across all scenes`);
  v.storyboard_images.forEach((url, i) => { const beat = indexIn(url, /\/storyboard\/(\d+)\.png/) ?? i; figure(state.boards, beat, "storyboard", url, beatCaption(beat)); });
  for (const url of v.chunk_urls) {
    const n = indexIn(url, /\/chunks\/(\d+)\.mp4/);
    if (n !== null) preview(chunkCell(`chunk:${String(n).padStart(3, "0")}`), url);
  }
  if (v.final_video_url) showFinal(v.final_video_url, v.generation_time_seconds);
}

function handle(event) {
  if (typeof event.id === "number") state.lastEvent = Math.max(state.lastEvent, event.id);
  if (event.type === "snapshot") {
    if (!event.snapshot) { $("run-error").textContent = "This video has no run."; return; }
    applySnapshot(event.snapshot).catch((error) => { $("run-error").textContent = `Could not load the video's media: ${error.message}`; });
    return;
  }
  log(event);
  setStatus(event.status);
  if (event.type === "phase" || event.type === "progress" || TERMINAL.includes(event.type)) setPhase(event.phase);
  setProgress(event.progress);
  if (typeof event.cost_usd === "number") setCost(event.cost_usd);
  setEta(event.estimated_time_remaining);
  const job = event.job;
  if (job?.kind === "chunk") {
    const cell = updateChunk(job);
    if (job.status === "done" && event.preview_url) preview(cell, event.preview_url);
  }
  if (job?.kind === "storyboard" && job.status === "done" && event.preview_url) figure(state.boards, job.beat, "storyboard", event.preview_url, beatCaption(job.beat));
  if (job?.kind === "reference" && job.status === "done" && event.preview_url) figure(state.refs, job.idx, "references", event.preview_url, `reference ${job.idx + 1}`);
  switch (event.type) {
    case "spec":
      state.beats = event.spec.beats.map((b) => b.name);
      setCost(undefined, event.cost_estimate?.total_usd);
      placeholders(Array.from({ length: event.chunks }, (_, i) => ({ chunk_num: i })));
      break;
    case "reference_images_ready":
      showReferences(event.images, event.message);
      break;
    case "complete":
      setProgress(100);
      if (event.final_video_url) showFinal(event.final_video_url, event.generation_time_seconds);
      finish();
      break;
    case "failed":
    case "cancelled":
      $("run-error").textContent = event.error || event.type;
      finish();
      break;
  }
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
