import type { ProcessShare, ProcStat, TreeUsage } from "./process-tree.ts";
import { table } from "./results-doc.ts";

/** media-node's memory in the load bench: which processes are its own, and where its highest samples were. */

/** media-node ran under tsx's launcher (a node process whose only child is the server) in a `--ref` older than plain-node servers: the launcher is not the server. */
export function mediaServerAndChildren(stat: ProcStat, tree: ProcStat[]): boolean {
  return stat !== tree[0] || !tree.some((s) => s.ppid === stat.pid && s.comm.startsWith("node"));
}

export const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
/** A sample's processes by route: "2× chunks/normalize: chunk 290 (one up to 150), 1× server 190" (MiB). */
export const sharesText = (shares: readonly ProcessShare[]) => shares.map((s) => `${s.processes}× ${s.name} ${mib(s.rssBytes)}${s.processes > 1 ? ` (one up to ${mib(s.maxProcessRssBytes)})` : ""}`).join(", ") + " MiB";

/** Where media-node's memory was at its highest samples, and each route's most over the run (`mediaRunOf`). */
export function mediaMemoryParagraph(media: TreeUsage | undefined, t0: number): string {
  if (!media?.topSamples || !media.peakByName) return "";
  const top = media.topSamples.map((s, i) => [i + 1, `${((s.at - t0) / 1000).toFixed(0)} s`, mib(s.rssBytes), sharesText(s.shares)]);
  const byRoute = media.peakByName.map((p) => [p.name, mib(p.rssBytes), mib(p.processRssBytes), (p.samples * 0.2).toFixed(0)]);
  return `media-node's memory by the route each process works for (named from its command line: bench/media-runs.ts), its ${media.topSamples.length} highest samples (at least 1 s apart; seconds from the first submit):

${table(["sample", "at", "MiB", "processes (MiB)"], top)}

Each route's most over the run (of its processes summed at one sample, and of one process; "alive" counts 200 ms samples):

${table(["route", "most summed MiB", "most of one process MiB", "alive ≈ s"], byRoute)}
`;
}
