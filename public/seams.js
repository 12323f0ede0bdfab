// The live page's seam scores: every join of the stitched video as the viewer sees it, a flagged one marked.
import { $ } from "./page.js";

/**
 * `report`: the stitch job's output `seams` ({thresholds, seams}: worker/steps/stitch.ts), or the
 * video record's `consistency` ({seam_thresholds, seams}). Nothing is shown until there are seams.
 */
export function showSeams(report, fps = 24) {
  const seams = report?.seams;
  const limits = report?.thresholds ?? report?.seam_thresholds;
  if (!Array.isArray(seams) || seams.length === 0 || !limits) return;
  $("seams").replaceChildren(...seams.map((seam) => {
    const tr = document.createElement("tr");
    tr.dataset.chunk = String(seam.chunk_num);
    tr.classList.toggle("flagged", seam.flagged);
    const where = seam.kind === "within_beat" ? `inside beat ${seam.beat_index}` : `into beat ${seam.beat_index} · ${seam.transition.type}${seam.transition.frames ? ` ${seam.transition.frames} fr` : ""}`;
    const cells = [
      `${(seam.at_frame / fps).toFixed(2)} s`,
      `chunk ${seam.chunk_num - 1} → ${seam.chunk_num}`,
      where,
      seam.ssim.toFixed(3),
      seam.palette_delta_e.toFixed(1),
      `${seam.jump_ratio.toFixed(2)}×`,
      verdict(seam, limits),
    ];
    for (const text of cells) { const td = document.createElement("td"); td.textContent = text; tr.append(td); }
    return tr;
  }));
  const flagged = seams.filter((s) => s.flagged).length;
  const unjudged = seams.filter((s) => s.unjudged).length;
  const hidden = unjudged ? ` ${unjudged} of ${seams.length} seams not judged: the ad's overlays and captions cover them.` : "";
  $("seams-summary").textContent = flagged
    ? `${flagged} of ${seams.length} seams flagged.`
    : `No seam flagged: inside beats every ${unjudged ? "judged " : ""}join is within ${limits.jump_ratio_max}× the shot's own motion, SSIM ≥ ${limits.ssim_min}, palette ΔE ≤ ${limits.palette_delta_e_max}; every ${unjudged ? "judged " : ""}beat transition plays as planned.${hidden}`;
  $("seams-block").hidden = false;
}

export function hideSeams() {
  $("seams").replaceChildren();
  $("seams-summary").textContent = "";
  $("seams-block").hidden = true;
}

function verdict(seam, limits) {
  // Measured on the part of the frame the ad's finish leaves clear; a seam it covers is not judged.
  if (seam.unjudged) return `not judged: ${seam.unjudged}`;
  if (!seam.flagged) return seam.kind === "within_beat" ? "✓ seamless" : "✓ as planned";
  const why = seam.flags.map((flag) => {
    if (flag === "jump") return `jumps ${seam.jump_ratio.toFixed(1)}× (limit ${limits.jump_ratio_max}×)`;
    if (flag === "ssim") return `SSIM ${seam.ssim.toFixed(2)} < ${limits.ssim_min}`;
    if (flag === "palette") return `colour shift ΔE ${seam.palette_delta_e.toFixed(1)} > ${limits.palette_delta_e_max}`;
    return `not the planned ${seam.transition.type}: ${seam.transition_detail ?? ""}`;
  });
  return `⚠ ${why.join("; ")}`;
}
