// The ad's finish on the live page: the form's copy, voiceover and captions options, the copy
// the plan settled on, and the captions beside the final video.
import { $ } from "./page.js";

/** The finish part of a generate request: only what the user changed, so the planner's defaults hold otherwise. */
export function finishFields() {
  const body = {};
  const headline = $("headline").value.trim(), cta = $("cta").value.trim();
  if (headline || cta) body.copy = { ...(headline ? { headline } : {}), ...(cta ? { cta } : {}) };
  const voice = $("voice").value.trim();
  if (!$("voiceover").checked || voice) body.voiceover = { enabled: $("voiceover").checked, ...(voice ? { voice } : {}) };
  if ($("captions").value) body.captions = $("captions").value;
  return body;
}

/** Captions need the voiceover: the choice follows the checkbox. */
export function setUpFinishFields() {
  const sync = () => {
    $("captions").disabled = !$("voiceover").checked;
    $("voice").disabled = !$("voiceover").checked;
    if (!$("voiceover").checked) $("captions").value = "";
  };
  $("voiceover").addEventListener("change", sync);
  sync();
}

const entry = (term, text) => {
  const dt = document.createElement("dt"), dd = document.createElement("dd");
  dt.textContent = term;
  dd.textContent = text;
  return [dt, dd];
};

/** The ad's copy as the plan has it (with the request's overrides): what is on screen and what is said. */
export function showCopy(copy) {
  if (!copy) return;
  const voiced = copy.voiceover.enabled;
  $("copy").replaceChildren(
    ...entry("Headline", copy.headline),
    ...(copy.offer ? entry("Offer", copy.offer) : []),
    ...entry("Call to action", copy.cta),
    ...entry("Voiceover", voiced ? copy.voiceover.lines.map((l) => `“${l.text}”`).join(" ") || "no lines" : "off"),
    ...entry("Captions", copy.captions),
  );
  $("copy-block").hidden = false;
}

/** The WebVTT captions: a link, and a track of the player (sidecar captions show there). */
export function showCaptions(url) {
  const link = $("captions-link");
  link.hidden = !url;
  if (!url) {
    $("final").querySelector("track")?.remove();
    return;
  }
  link.href = url;
  let track = $("final").querySelector("track");
  if (!track) {
    track = Object.assign(document.createElement("track"), { kind: "captions", srclang: "en", label: "Captions" });
    $("final").append(track);
  }
  if (track.getAttribute("src") !== url) track.src = url;
}
