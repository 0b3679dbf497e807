import { createHash } from "node:crypto";
import { canonicalJson } from "../codec/index.js";
import type { TopologySpec } from "./build.js";

/** Hash of a resolved topology section: a coordinator and its actor hosts must agree on it. */
export function topologyHash(spec: TopologySpec): string {
  return createHash("sha256").update(canonicalJson(spec)).digest("hex");
}
