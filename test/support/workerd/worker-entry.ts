/**
 * The Worker as the workerd test project loads it: the real entry, plus the container class
 * whose runtime is a stand-in (test/support/workerd/container-runtime.ts), bound as
 * MEDIA_NODE_CONTAINER in vitest.config.ts since workerd cannot start containers without Docker.
 */
export * from "../../../worker/index.ts";
export { default } from "../../../worker/index.ts";
export { StandInMediaNodeContainer } from "./container-runtime.ts";
