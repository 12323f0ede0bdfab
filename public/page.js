// What every part of the live page shares: element lookup, and how values are read and shown.

export const $ = (id) => document.getElementById(id);

/** A comma-separated list of URLs (or asset refs) as typed into a field. */
export const urls = (value) => value.split(",").map((s) => s.trim()).filter(Boolean);

// Draft ads cost fractions of a cent: show those, without drowning dollars in digits.
export const usd = (n) => `$${Number(n).toFixed(Number(n) !== 0 && Math.abs(n) < 1 ? 4 : 2)}`;
export const phaseText = (phase) => String(phase).replaceAll("_", " ");

export function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return s >= 60 ? `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}
