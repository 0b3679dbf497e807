import { buildCustom, type CustomSpec } from "./custom.js";
import { buildSingleTier, type SingleTierParams } from "./single-tier.js";
import { buildTwoTier, type TwoTierParams } from "./two-tier.js";
import type { Topology } from "./types.js";

/** A resolved topology section: which builder, with every parameter filled in. */
export type TopologySpec =
  | { readonly kind: "two-tier"; readonly params: TwoTierParams }
  | { readonly kind: "single-tier"; readonly params: SingleTierParams }
  | { readonly kind: "custom"; readonly spec: CustomSpec };

export function buildTopology(spec: TopologySpec): Topology {
  switch (spec.kind) {
    case "two-tier": return buildTwoTier(spec.params);
    case "single-tier": return buildSingleTier(spec.params);
    case "custom": return buildCustom(spec.spec);
    default: {
      const never: never = spec;
      throw new Error(`unknown topology kind ${JSON.stringify(never)}`);
    }
  }
}
