// "Render for real": a complete draft, made again with the hosted models from the same spec.
// The estimate of that render (a dry run: nothing is spent) shows first, beside the button.
import { $, phaseText, usd } from "./page.js";

let offered = null; // the draft whose render is on offer

/**
 * Wires the block: `api(method, path, body)` calls the API with the page's key, `started(videoId)`
 * follows the standard video the button made.
 */
export function setUpRender({ api, started }) {
  $("render-standard").addEventListener("click", async () => {
    const draftId = offered;
    if (!draftId) return;
    $("render-standard").disabled = true;
    $("render-error").textContent = "";
    try {
      const answer = await api("POST", `/api/video/${draftId}/render`, { quality: "standard" });
      started(answer.video_id);
    } catch (error) {
      $("render-error").textContent = error.message;
      $("render-standard").disabled = false;
    }
  });
  return {
    /** Offer a render of `video` (its record) when it is a complete draft; hide the block otherwise. */
    async offer(video) {
      const draft = video && video.status === "complete" && video.quality === "draft";
      offered = draft ? video.video_id : null;
      $("render-block").hidden = !draft;
      if (!draft) return;
      $("render-standard").disabled = true;
      $("render-error").textContent = "";
      $("render-estimate").textContent = "Estimating a standard render…";
      try {
        const estimate = await api("POST", `/api/video/${video.video_id}/render`, { quality: "standard", dry_run: true });
        if (offered !== video.video_id) return;
        const phases = Object.entries(estimate.cost_estimate.by_phase).filter(([, v]) => v > 0).map(([phase, v]) => `${phaseText(phase)} ${usd(v)}`).join(" · ");
        $("render-estimate").textContent = `With the hosted models, from this draft's plan: estimated ${usd(estimate.cost_estimate.total_usd)} (${estimate.chunks} video clips; ${phases}).`;
        $("render-estimate").dataset.usd = String(estimate.cost_estimate.total_usd);
        $("render-standard").disabled = false;
      } catch (error) {
        if (offered !== video.video_id) return;
        $("render-estimate").textContent = "";
        $("render-error").textContent = `A standard render is not available: ${error.message}`;
      }
    },
  };
}
