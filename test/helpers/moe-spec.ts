/** A small valid `spec.moe` for op-start messages: `ep` ranks, 2 experts each, top-2, 2 tokens per rank. */
export function moeSpecFields(ep: number): Record<string, unknown> {
  return {
    shape: {
      hidden: 64, experts: 2 * ep, topK: Math.min(2, 2 * ep), expertIntermediate: 32, tokensPerRank: 2, ep, sharedExperts: 0,
      dispatchBytesPerToken: 576, combineBytesPerToken: 128, capacityFactor: 1.5, replicaPolicy: "round-robin",
    },
    gating: { kind: "uniform" },
  };
}

/** A valid `part` for moeSpecFields(ep), direct or hierarchical: every copy dropped (nothing sent or received), weights 32/64 each. */
export function moePartFields(ep: number): Record<string, unknown> {
  const copies = 2 * Math.min(2, 2 * ep); // tokensPerRank × topK
  return {
    sends: [], recvCounts: new Array<number>(ep).fill(0), cross: new Array<number>(ep).fill(0), scatter: new Array<number>(ep).fill(0), held: [0, 1],
    experts: Array.from({ length: copies }, (_, i) => i % 2), weightUnits: new Array<number>(copies).fill(32), weightDenominator: 64,
  };
}
