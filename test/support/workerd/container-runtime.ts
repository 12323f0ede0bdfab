import { MediaNodeContainer } from "../../../worker/media/container.ts";
import { MEDIA_NODE_CONTAINER } from "../../../worker/media/container-shape.ts";
import { MediaNodeStandIn } from "../media-node-stand-in.ts";

/**
 * Containers without Docker, for the Worker's tests: a stand-in for workerd's container runtime
 * (`ctx.container`, the part of the platform @cloudflare/containers drives) attached to the
 * real MediaNodeContainer class, so its admission gate and the library's whole request path
 * (start, port readiness checks, proxying, activity timer) run unchanged. What the runtime
 * does, it does as workerd documents it: `start()` makes it running with the given env,
 * `monitor()` settles when it stops, and a TCP port answers only while running and only on the
 * port the image listens on (else "the container is not listening", the error the library
 * waits out). Behind that port is MediaNodeStandIn. What it cannot show: a real image booting,
 * Cloudflare placing instances, or `max_instances` being reached.
 */

export class ContainerRuntimeStandIn {
  running = false;
  starts: { env?: Record<string, string>; enableInternet?: boolean }[] = [];
  private stopped: (() => void) | undefined;
  private readonly name: string;
  private readonly server: () => MediaNodeStandIn;

  constructor(
    name: string,
    server: () => MediaNodeStandIn,
  ) {
    this.name = name;
    this.server = server;
  }

  start(options: { env?: Record<string, string>; enableInternet?: boolean } = {}): void {
    if (this.running) throw new Error("start() called on a running container");
    this.running = true;
    this.starts.push(options);
  }

  monitor(): Promise<void> {
    return new Promise((resolve) => {
      this.stopped = resolve;
    });
  }

  async destroy(): Promise<void> {
    this.signal(9);
  }

  signal(_signo: number): void {
    this.running = false;
    this.stopped?.();
  }

  getTcpPort(port: number): { fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> } {
    return {
      fetch: async (input, init) => {
        if (!this.running || port !== MEDIA_NODE_CONTAINER.port) throw new Error("the container is not listening");
        return this.server().handle(new Request(input, init), this.name);
      },
    };
  }
}

/** Every runtime created, by Durable Object name, and the media-node they all reach. */
export const containerRuntimes = new Map<string, ContainerRuntimeStandIn>();
export const containerMediaNode = { current: new MediaNodeStandIn("") };

/** The real class with the runtime stand-in in place of `ctx.container`. */
export class StandInMediaNodeContainer extends MediaNodeContainer {
  constructor(ctx: DurableObjectState<{}>, env: Env) {
    const name = ctx.id.name ?? ctx.id.toString();
    const runtime = new ContainerRuntimeStandIn(name, () => containerMediaNode.current);
    containerRuntimes.set(name, runtime);
    // workerd's DurableObject base accepts only the real state object; the runtime is attached
    // to it as the `container` property workerd sets when containers are enabled.
    Object.defineProperty(ctx, "container", { value: runtime, configurable: true });
    super(ctx, env);
  }
}
