import type { StepDeps } from "../queue/step.ts";
import { connectMediaNode } from "./media-node-transport.ts";
import { mediaUrl } from "./media-urls.ts";

/**
 * The job steps' media as this deployment provides it: media-node over whichever transport is
 * configured (the container pool in production, MEDIA_NODE_URL locally) and, for the URLs
 * handed to media-node and the provider, presigned R2 URLs where R2's S3 credentials are set.
 * Applied over `stepDeps` by the queue handler in worker/index.ts.
 */
export function withDeployedMedia(deps: StepDeps): StepDeps {
  return {
    ...deps,
    media: connectMediaNode(deps.env, deps.config),
    url: (key, access = "get") => mediaUrl(deps.config, "service", key, access),
  };
}
