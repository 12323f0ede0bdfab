import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/**
 * A port nothing listens on now, for a server the stack names before it starts (the Worker's
 * vars name media-node's URL, media-node's allowed origins name the Worker's, ...).
 *
 * Drawn below the kernel's ephemeral range, not by binding port 0: the kernel hands the ports of
 * that range (ip_local_port_range) to every port-0 bind and outgoing connection, and every
 * workerd Miniflare starts binds several. Between this check and the server's own bind, a stack
 * starting beside this one (test files run in parallel) could be handed the same port: the
 * Worker's workerd then failed to bind it, or, for its inspector, hung without a word until the
 * stack gave up (Miniflare's own comment: workerd "silently continues without emitting the
 * listen-inspector event"). Below the range only another caller of this can take it, and each
 * process hands a port out once.
 */
export async function freePort(): Promise<number> {
  const below = ephemeralRangeStart() - PORTS_FROM;
  for (let attempt = 0; below > 0 && attempt < 50; attempt++) {
    const port = PORTS_FROM + Math.floor(Math.random() * below);
    if (handedOut.has(port)) continue;
    // Held before the check: calls at once must not both pass it.
    handedOut.add(port);
    if (await listens(port)) return port;
    handedOut.delete(port);
  }
  // No room below the range (or no luck): one of the kernel's.
  return listens(0);
}

/** Above the ports of well-known development servers (8080, 8787, 9229, ...). */
const PORTS_FROM = 10_000;
const handedOut = new Set<number>();

/** The first port of the kernel's ephemeral range (Linux; elsewhere the IANA range's). */
function ephemeralRangeStart(): number {
  try {
    const start = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(start) && start > 0 ? start : 49_152;
  } catch {
    return 49_152;
  }
}

/** Binds `port` on 127.0.0.1 and lets it go: the port it got, or 0 if it is taken. */
function listens(port: number): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", (error: NodeJS.ErrnoException) => (error.code === "EADDRINUSE" || error.code === "EACCES" ? resolvePort(0) : reject(error)));
    server.listen(port, "127.0.0.1", () => {
      const address = server.address();
      const bound = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolvePort(bound));
    });
  });
}
