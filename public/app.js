// adreel's live page: submit an ad, follow it over the video's WebSocket, play the result.
const $ = (id) => document.getElementById(id);
const state = { key: localStorage.getItem("adreel.key") || new URLSearchParams(location.search).get("key") || "", videoId: null, socket: null, lastEvent: 0, chunks: new Map() };
$("api-key").value = state.key;
$("api-key").addEventListener("change", (e) => { state.key = e.target.value.trim(); localStorage.setItem("adreel.key", state.key); loadVideos(); });
$("creativity").addEventListener("input", (e) => { $("creativity-value").textContent = e.target.value; });

async function api(method, path, body) {
  const response = await fetch(path, { method, headers: { authorization: `Bearer ${state.key}`, ...(body ? { "content-type": "application/json" } : {}) }, body: body ? JSON.stringify(body) : undefined });
  const json = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(json.error || `HTTP ${response.status}`);
  return json;
}

const list = (value) => value.split(",").map((s) => s.trim()).filter(Boolean);

$("generate-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("form-error").textContent = "";
  $("submit").disabled = true;
  const body = {
    prompt: $("prompt").value,
    duration_s: Number($("duration").value),
    aspect_ratio: $("aspect").value,
    creativity_level: Number($("creativity").value),
  };
  if ($("archetype").value) body.archetype = $("archetype").value;
  const product = list($("product-images").value), character = list($("character-images").value), logo = $("logo").value.trim();
  if (product.length || character.length || logo) body.brand_assets = { product_images: product, character_images: character, logo: logo || null };
  if ($("max-cost").value) body.max_cost_usd = Number($("max-cost").value);
  try {
    const { video_id } = await api("POST", "/api/generate", body);
    watch(video_id);
    loadVideos();
  } catch (error) {
    $("form-error").textContent = error.message;
  } finally {
    $("submit").disabled = false;
  }
});

function resetRun(id) {
  state.videoId = id; state.lastEvent = 0; state.chunks.clear();
  $("run").hidden = false; $("video-id").textContent = id;
  for (const el of ["chunks", "references", "storyboard", "log"]) $(el).replaceChildren();
  for (const el of ["references-block", "storyboard-block", "final-block"]) $(el).hidden = true;
  $("run-error").textContent = ""; $("progress").value = 0; $("progress-text").textContent = "0%"; $("eta").textContent = ""; $("cost").textContent = "";
}

function watch(id) {
  if (state.socket) state.socket.close();
  if (state.videoId !== id) resetRun(id);
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${proto}://${location.host}/api/video/${id}/live?since=${state.lastEvent}&access_token=${encodeURIComponent(state.key)}`);
  state.socket = socket;
  socket.onmessage = (message) => { if (message.data !== "pong") handle(JSON.parse(message.data)); };
  socket.onclose = () => {
    if (state.socket !== socket || ["complete", "failed", "cancelled"].includes($("phase").textContent)) return;
    setTimeout(() => state.videoId === id && watch(id), 1000); // resume from the last event id
  };
}

function log(event) {
  const li = document.createElement("li");
  li.textContent = `#${event.id} ${event.type}${event.phase ? ` ${event.phase}` : ""}${event.job ? ` ${event.job.id} ${event.job.status}` : ""}${event.message ? ` — ${event.message}` : ""}${event.error ? ` — ${event.error}` : ""}`;
  $("log").append(li);
}

function setProgress(progress, phase) {
  if (typeof progress === "number" && progress >= $("progress").value) { $("progress").value = progress; $("progress-text").textContent = `${progress.toFixed(0)}%`; }
  if (phase) $("phase").textContent = phase;
}

function chunkCell(job) {
  let cell = state.chunks.get(job.id);
  if (!cell) {
    cell = document.createElement("div");
    cell.className = "cell";
    cell.innerHTML = `<span class="label"></span>`;
    state.chunks.set(job.id, cell);
    const cells = [...state.chunks.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, c]) => c);
    $("chunks").replaceChildren(...cells);
  }
  cell.dataset.status = job.status;
  cell.querySelector(".label").textContent = `${job.id.replace("chunk:", "#")} · beat ${job.beat} · ${job.status}${job.attempt > 1 ? ` · try ${job.attempt}` : ""}`;
  return cell;
}

function thumb(container, url, caption) {
  const figure = document.createElement("figure");
  figure.innerHTML = `<img alt=""><figcaption></figcaption>`;
  figure.querySelector("img").src = url;
  figure.querySelector("figcaption").textContent = caption;
  $(container).append(figure);
  $(`${container}-block`).hidden = false;
}

function showFinal(url) {
  $("final").src = url; $("download").href = url; $("final-block").hidden = false;
}

function handle(event) {
  if (typeof event.id === "number" && event.type !== "snapshot") state.lastEvent = Math.max(state.lastEvent, event.id);
  if (event.type === "snapshot") {
    const s = event.snapshot;
    if (!s) return;
    setProgress(s.progress, s.phase);
    for (const job of s.jobs.filter((j) => j.kind === "chunk")) chunkCell(job);
    $("cost").textContent = `$${s.cost_usd.toFixed(4)}${s.cost_estimate ? ` of ~$${s.cost_estimate.total_usd.toFixed(2)}` : ""}`;
    if (s.error) $("run-error").textContent = s.error;
    // Media URLs are signed by the API: fetch them once for what is already there.
    api("GET", `/api/video/${s.video_id}`).then((v) => {
      $("references").replaceChildren(); $("storyboard").replaceChildren();
      v.reference_images.forEach((r) => thumb("references", r.url, `${r.type} · ${r.source === "generated" ? "generated" : "brand asset"}`));
      v.storyboard_images.forEach((u, i) => thumb("storyboard", u, `beat ${i}`));
      const done = s.jobs.filter((j) => j.kind === "chunk" && j.status === "done").sort((a, b) => a.idx - b.idx);
      done.forEach((job, i) => v.chunk_urls[i] && preview(chunkCell(job), v.chunk_urls[i]));
      if (v.final_video_url) showFinal(v.final_video_url);
    }).catch(() => {});
    return;
  }
  log(event);
  setProgress(event.progress, event.phase);
  if (typeof event.cost_usd === "number") $("cost").textContent = `$${event.cost_usd.toFixed(4)}`;
  if (typeof event.estimated_time_remaining === "number") $("eta").textContent = `~${event.estimated_time_remaining}s left`;
  if (event.type === "spec") for (let i = 0; i < event.chunks; i++) chunkCell({ id: `chunk:${String(i).padStart(3, "0")}`, status: "waiting", beat: "?", attempt: 1 });
  if (event.type === "reference_images_ready") {
    $("references-message").textContent = event.message;
    $("references").replaceChildren();
    event.images.forEach((r) => thumb("references", r.url, `${r.type} · ${r.source === "generated" ? "generated" : "brand asset"}`));
  }
  if (event.job?.kind === "chunk") {
    const cell = chunkCell(event.job);
    if (event.job.status === "done" && event.preview_url) preview(cell, event.preview_url);
  }
  if (event.job?.kind === "storyboard" && event.job.status === "done" && event.preview_url) thumb("storyboard", event.preview_url, `beat ${event.job.beat}`);
  if (event.type === "complete") { setProgress(100, "complete"); if (event.final_video_url) showFinal(event.final_video_url); loadVideos(); }
  if (event.type === "failed" || event.type === "cancelled") { $("run-error").textContent = event.error || event.type; loadVideos(); }
}

function preview(cell, url) {
  if (cell.querySelector("video")) return;
  const video = document.createElement("video");
  Object.assign(video, { src: url, muted: true, loop: true, autoplay: true, playsInline: true });
  cell.prepend(video);
}

async function loadVideos() {
  if (!state.key) return;
  try {
    const { videos } = await api("GET", "/api/videos?limit=20");
    $("videos").replaceChildren(...videos.map((v) => {
      const tr = document.createElement("tr");
      tr.className = "clickable";
      for (const text of [new Date(v.created_at).toLocaleString(), v.prompt.slice(0, 80), `${v.status} ${v.status === "processing" ? `${v.progress}%` : ""}`, `$${v.cost_usd.toFixed(4)}`]) {
        const td = document.createElement("td"); td.textContent = text; tr.append(td);
      }
      tr.addEventListener("click", () => watch(v.video_id));
      return tr;
    }));
  } catch (error) {
    $("form-error").textContent = error.message;
  }
}
$("refresh").addEventListener("click", loadVideos);
loadVideos();
