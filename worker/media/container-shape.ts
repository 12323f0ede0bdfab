/**
 * The media-node containers: how many, what each can do at once, and where media-node listens
 * in them. These numbers mirror
 * wrangler.toml's `[[env.production.containers]]` (`instance_type = "standard-3"`: 2 vCPU,
 * 8 GiB, per Cloudflare's "Limits and Instance Types" page read 2026-12-04;
 * `max_instances = 10`); scripts/deploy/config.test.ts and dockerfile.test.ts fail when they drift apart.
 */
export const MEDIA_NODE_CONTAINER = {
  /** `max_instances`: requests are spread over this many container instances. */
  instances: 10,
  /** One ffmpeg (or sharp) job per vCPU: a third job on a 2-core instance only slows the other two. */
  slotsPerInstance: 2,
  /** The instance type those slots assume. */
  instanceType: "standard-3",
  /** The Dockerfile's MEDIA_NODE_PORT and EXPOSE. */
  port: 8788,
} as const;
