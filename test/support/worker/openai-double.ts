/**
 * For tests: OpenAI's chat completions API as a scripted fetch. Each request takes the next
 * reply — a JSON body answered 200, `{status, body, headers?}`, or "hang" (never answers until
 * aborted) — so the official SDK runs unchanged against recorded wire-format responses.
 */

export type OpenAIReply = object | { status: number; body: object; headers?: Record<string, string> } | "hang";

export function openaiServer(replies: OpenAIReply[], errorHeaders: Record<string, string> = {}) {
  const requests: { url: string; body: any }[] = [];
  const fetch = async (url: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    requests.push({ url: String(url), body: JSON.parse(String(init?.body)) });
    const reply = replies.shift();
    if (reply === undefined) throw new Error("unexpected extra request");
    if (reply === "hang") {
      return new Promise((_, reject) => {
        init?.signal?.addEventListener("abort", () => reject(new DOMException("The operation was aborted.", "AbortError")));
      });
    }
    if ("status" in reply && "body" in reply) {
      return new Response(JSON.stringify(reply.body), { status: reply.status, headers: { "content-type": "application/json", ...errorHeaders, ...reply.headers } });
    }
    return new Response(JSON.stringify(reply), { status: 200, headers: { "content-type": "application/json" } });
  };
  return { fetch: fetch as typeof globalThis.fetch, requests };
}
