import { createKeyHandler, createKeyRoute } from "./keys/create.ts";
import { listKeysHandler, listKeysRoute } from "./keys/list.ts";
import { revokeKeyHandler, revokeKeyRoute } from "./keys/revoke.ts";
import { router, serve } from "./router.ts";

/** API key administration, mounted at /admin/keys (the admin token, not an API key). */
export const keysApi = router();
serve(keysApi, createKeyRoute, createKeyHandler);
serve(keysApi, listKeysRoute, listKeysHandler);
serve(keysApi, revokeKeyRoute, revokeKeyHandler);
