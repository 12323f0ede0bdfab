/**
 * Whether `url` lies in one of the places a deployment serves itself (MEDIA_NODE_ALLOWED_ORIGINS:
 * an origin, or an origin and a folder), which media-node fetches from over plain http and
 * loopback too. Pure, so the Worker tests' media-node stand-in applies the very same rule.
 */
export function inAllowedPlace(url: URL, places: readonly string[]): boolean {
  if (url.protocol !== "https:" && url.protocol !== "http:") return false;
  // `url.pathname` is normalized (dot segments, %2e included, resolved), so a prefix cannot be climbed out of.
  return places.some((allowed) => {
    const place = new URL(allowed);
    return place.origin === url.origin && url.pathname.startsWith(place.pathname);
  });
}
