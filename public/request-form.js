// The request form of the live page: what the user asks for, checked by the API.
import { finishFields, setUpFinishFields } from "./finish.js";
import { $, phaseText, urls, usd } from "./page.js";

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
  return { ...body, ...finishFields() };
}

/**
 * Wires the request form: generate, estimate (a dry run) and brand-image uploads.
 * `api(method, path, body)` calls the API with the page's key, `key()` is that key, and
 * `submitted(videoId, prompt)` follows a video the form created.
 */
export function setUpRequestForm({ api, key, submitted }) {
  setUpFinishFields();
  $("generate-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("form-error").textContent = "";
    $("submit").disabled = true;
    try {
      const body = requestBody();
      const { video_id } = await api("POST", "/api/generate", body);
      submitted(video_id, body.prompt);
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
          const response = await fetch("/api/assets", { method: "POST", headers: { authorization: `Bearer ${key()}`, "content-type": file.type || "application/octet-stream" }, body: file });
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
}
