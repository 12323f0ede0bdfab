import { exports } from "cloudflare:workers";

/** For Worker tests: a request to the app with a JSON body and a bearer key (`key: null` sends none). */
export function apiRequest(path: string, key: string | null, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (key) headers.set("authorization", `Bearer ${key}`);
  if (init.body && !headers.has("content-type")) headers.set("content-type", "application/json");
  return exports.default.fetch(new Request(`http://adreel.test${path}`, { ...init, headers }));
}
