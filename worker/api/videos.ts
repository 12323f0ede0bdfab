import { router, serve } from "./router.ts";
import { uploadAsset, uploadAssetRoute } from "./videos/assets.ts";
import { cancel, cancelRoute } from "./videos/cancel.ts";
import { generate, generateRoute } from "./videos/generate.ts";
import { list, listRoute } from "./videos/list.ts";
import { live, liveRoute } from "./videos/live.ts";
import { video, videoRoute } from "./videos/record.ts";
import { regenerateBeat, regenerateRoute } from "./videos/regenerate.ts";
import { renderRoute, renderVideo } from "./videos/render.ts";
import { status, statusRoute } from "./videos/status.ts";

/** The videos resource, mounted at /api (behind the API key and the rate limit): one file per route in videos/. */
export const videosApi = router();
serve(videosApi, generateRoute, generate);
serve(videosApi, uploadAssetRoute, uploadAsset);
serve(videosApi, statusRoute, status);
serve(videosApi, videoRoute, video);
serve(videosApi, cancelRoute, cancel);
serve(videosApi, liveRoute, live);
serve(videosApi, regenerateRoute, regenerateBeat);
serve(videosApi, renderRoute, renderVideo);
serve(videosApi, listRoute, list);
