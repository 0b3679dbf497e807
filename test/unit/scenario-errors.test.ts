import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// The CLI is the user's edge: every bad scenario must end as one `scenario error` line and exit 2,
// so these tests run the built binary rather than loadScenario.
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CLI = join(ROOT, "dist/services/cli/main.js");
const EXIT_USAGE = 2;
const PREFIX = "supernode: scenario error: ";
/** Wall-time guard per CLI run; a valid 8-NPU scenario finishes in well under a second. */
const CLI_TIMEOUT_MS = 30_000;

/** Small and valid: every bad case below changes exactly one thing in it. */
const BASE = {
  topology: { preset: "cloudmatrix384", nodes: 2, npusPerNode: 4 },
  workload: { kind: "collective", collective: "all-reduce", algorithm: "ring", sizes: ["4KiB"] },
  engine: "sim",
  seed: 1,
} as const;

type Doc = { topology: Record<string, unknown>; workload: Record<string, unknown>; [k: string]: unknown };

function base(): Doc {
  return structuredClone(BASE) as unknown as Doc;
}

function withTopology(extra: Record<string, unknown>): Doc {
  const d = base();
  d.topology = { ...d.topology, ...extra };
  return d;
}

function withWorkload(extra: Record<string, unknown>): Doc {
  const d = base();
  d.workload = { ...d.workload, ...extra };
  return d;
}

/** A moe-layer workload on the base topology (8 NPUs), with `extra` over small valid defaults. */
function withMoe(extra: Record<string, unknown>): Doc {
  const d = base();
  d.workload = { kind: "moe-layer", experts: 16, topK: 4, tokensPerRank: 4, ep: 8, ...extra };
  return d;
}

/** The base collective, then a small moe-layer: a scenario whose `workload` is a list of 2. */
function twoWorkloads(): Doc {
  return { ...base(), workload: [base().workload, withMoe({}).workload] } as unknown as Doc;
}

/** A one-switch custom fabric with 4 NPUs and the given link list. */
function customWith(links: Record<string, unknown>[]): Doc {
  const d = base();
  d.topology = { preset: "custom", custom: { devices: [{ name: "sw", kind: "switch" }, { name: "npu", kind: "npu", count: 4 }], links } };
  return d;
}

let dir = "";

function write(name: string, content: Doc | string): string {
  const file = join(dir, name);
  writeFileSync(file, typeof content === "string" ? content : stringify(content));
  return file;
}

function cli(file: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, "run", file, "--out", join(dir, "out"), ...args], {
    cwd: ROOT, encoding: "utf8", timeout: CLI_TIMEOUT_MS,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The contract for every user error: exit 2, one line, the prefix, no stack trace. */
function expectScenarioError(r: { status: number | null; stderr: string }): string {
  expect(r.stderr).not.toContain("    at ");
  const lines = r.stderr.split("\n");
  expect(lines, `stderr: ${r.stderr}`).toHaveLength(2); // one line and its newline
  expect(lines[1]).toBe("");
  expect(lines[0]!.startsWith(PREFIX), `stderr: ${r.stderr}`).toBe(true);
  expect(r.status).toBe(EXIT_USAGE);
  return lines[0]!.slice(PREFIX.length);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "supernode-scenario-errors-"));
  if (!existsSync(CLI)) {
    const b = spawnSync("npx", ["tsc", "-p", "."], { cwd: ROOT, encoding: "utf8" });
    expect(b.status, b.stdout + b.stderr).toBe(0);
  }
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("supernode run: the base scenario", () => {
  it("is valid, so each case below fails only for its one change", () => {
    const r = cli(write("base.yaml", base()));
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("status ok");
  });
});

/** Cases whose error names a field: the message after the prefix starts with `<path>: `. */
const FIELD_CASES: readonly { name: string; doc: Doc; args?: string[]; path: string; message: RegExp }[] = [
  { name: "unknown top-level key", doc: { ...base(), bogus: 1 }, path: "bogus", message: /unknown key/ },
  { name: "unknown key under workload", doc: withWorkload({ sizez: [1] }), path: "workload.sizez", message: /unknown key/ },
  { name: "hardware key typo under topology", doc: withTopology({ linkBandwithGBps: 28 }), path: "topology.linkBandwithGBps", message: /unknown key/ },
  { name: "negative bandwidth", doc: withTopology({ linkBandwidthGBps: -28 }), path: "topology.linkBandwidthGBps", message: /-28/ },
  { name: "efficiency above 1", doc: withTopology({ linkEfficiency: 1.5 }), path: "topology.linkEfficiency", message: /1\.5/ },
  { name: "zero nodes", doc: withTopology({ nodes: 0 }), path: "topology.nodes", message: /positive integer/ },
  { name: "more ranks than NPUs", doc: withWorkload({ ranks: 999 }), path: "workload.ranks", message: /999.*8 NPUs/ },
  { name: "unknown preset", doc: withTopology({ preset: "cloudmatrix385" }), path: "topology.preset", message: /cloudmatrix385/ },
  { name: "unknown collective", doc: withWorkload({ collective: "all-reduse" }), path: "workload.collective", message: /all-reduce/ },
  {
    name: "algorithm the collective does not have",
    doc: withWorkload({ collective: "all-gather", algorithm: "halving-doubling" }),
    path: "workload.algorithm", message: /all-gather.*halving-doubling/,
  },
  { name: "bad size string", doc: withWorkload({ sizes: ["4 KiBs"] }), path: "workload.sizes[0]", message: /4 KiBs/ },
  { name: "rankUnit die on nvl72", doc: { ...base(), topology: { preset: "nvl72", rankUnit: "die" } }, path: "topology.rankUnit", message: /nvl72/ },
  {
    name: "custom link to a device that does not exist",
    doc: customWith([{ from: "npu*", to: "sw9", bandwidthGBps: 100, latencyNs: 100 }]),
    path: "topology.custom.links[0].to", message: /sw9/,
  },
  {
    // Same bracket form as links[0].to above, so a user can paste the path back into their file.
    name: "custom link with a negative bandwidth",
    doc: customWith([{ from: "npu*", to: "sw", bandwidthGBps: -1, latencyNs: 100 }]),
    path: "topology.custom.links[0].bandwidthGBps", message: />\s*0/,
  },
  { name: "--set with a bad value", doc: base(), args: ["--set", "topology.nodes=-1"], path: "topology.nodes", message: /-1/ },
  {
    // 6 ranks on 2 nodes of 4: node 0 full, node 1 half.
    name: "hierarchical with ranks not filling whole nodes",
    doc: withWorkload({ algorithm: "hierarchical", ranks: 6 }),
    path: "workload.ranks", message: /4,2/,
  },
  // moe-layer (issue 4): each names its field.
  { name: "moe: top-k above the experts", doc: withMoe({ topK: 17 }), path: "workload.topK", message: /17.*16/ },
  { name: "moe: EP not dividing the experts, no replicas", doc: withMoe({ ep: 6 }), path: "workload.ep", message: /6.*16.*no replicas/ },
  { name: "moe: capacity factor 0", doc: withMoe({ capacityFactor: 0 }), path: "workload.capacityFactor", message: /> 0/ },
  { name: "moe: negative capacity factor", doc: withMoe({ capacityFactor: -1 }), path: "workload.capacityFactor", message: /> 0/ },
  { name: "moe: EP above the endpoints", doc: withMoe({ ep: 9 }), path: "workload.ep", message: /9.*8 endpoints/ },
  { name: "moe: unknown gating", doc: withMoe({ gating: { kind: "softmax" } }), path: "workload.gating.kind", message: /uniform/ },
  { name: "moe: zipf without an exponent", doc: withMoe({ gating: { kind: "zipf" } }), path: "workload.gating.exponent", message: /./ },
  { name: "moe: hot share above 1", doc: withMoe({ gating: { kind: "hot", hotFraction: 0.1, hotShare: 1.5 } }), path: "workload.gating.hotShare", message: /1/ },
  { name: "moe: replica of an expert that does not exist", doc: withMoe({ replicas: [{ expert: 16, copies: 1 }] }), path: "workload.replicas[0].expert", message: /16/ },
  { name: "moe: more copies than other ranks", doc: withMoe({ replicas: { hottest: 1, copies: 8 } }), path: "workload.replicas.copies", message: /8 ranks/ },
  { name: "moe: fixed gating with a missing file", doc: withMoe({ gating: { kind: "fixed", file: "nope.json" } }), path: "workload.gating.file", message: /nope\.json.*ENOENT/ },
  {
    name: "moe: node limit leaving fewer than top-k experts",
    doc: withMoe({ nodeLimit: 1, topK: 10 }), // 2 nodes of 4 ranks × 2 experts: one node holds 8 < 10
    path: "workload.nodeLimit", message: /8.*10/,
  },
  {
    name: "moe: hierarchical with EP ranks not filling whole nodes",
    doc: withMoe({ ep: 6, experts: 12, algorithm: "hierarchical" }), // 2 nodes of 4: 4 + 2
    path: "workload.algorithm", message: /4,2/,
  },
  {
    // 200 000 tokens × top-1: every rank's op-start would carry ~4 MB of routing (NATS takes 1 MiB).
    name: "moe: a rank's routing too big for one NATS message",
    doc: withMoe({ tokensPerRank: 200000, topK: 1 }), path: "workload.tokensPerRank", message: /kB of routing/,
  },
  { name: "moe: chunks too big for one NATS message", doc: withMoe({ chunkTokens: 20000 }), path: "workload.chunkTokens", message: /kB a NATS message/ },
  {
    name: "moe: second workload of a list",
    doc: { ...base(), workload: [base().workload, { kind: "moe-layer", experts: 16, topK: 0 }] },
    path: "workload[1].topK", message: /./,
  },
  // --set on a list of workloads (issue 9): a key without an index used to be silently dropped.
  { name: "--set workload.key on a list", doc: twoWorkloads(), args: ["--set", "workload.bogus=1"], path: "workload.bogus", message: /^workload is a list of 2 workloads: set workload\[0\]\.bogus or workload\[1\]\.bogus$/ },
  { name: "--set workload.sizes=[-5] on a list", doc: twoWorkloads(), args: ["--set", "workload.sizes=[-5]"], path: "workload.sizes", message: /set workload\[0\]\.sizes or workload\[1\]\.sizes$/ },
  { name: "--set workload[i].key with a bad value", doc: twoWorkloads(), args: ["--set", "workload[1].capacityFactor=0"], path: "workload[1].capacityFactor", message: /> 0/ },
  { name: "--set workload[i] past the list", doc: twoWorkloads(), args: ["--set", "workload[2].sizes=[4KiB]"], path: "workload[2]", message: /no such list element \(the list has 2\)/ },
  { name: "--set workload[0].key on one workload", doc: base(), args: ["--set", "workload[0].sizes=[4KiB]"], path: "workload[0].sizes", message: /not a list: set workload\.sizes$/ },
  { name: "unknown engine", doc: base(), args: ["--engine", "warp"], path: "engine", message: /sim|nats/ },
  {
    // `__proto__` must be refused as a key, not walked into Object.prototype.
    name: "--set through __proto__",
    doc: base(), args: ["--set", "__proto__.x=1"], path: "__proto__", message: /./,
  },
];

describe("supernode run: a bad scenario is one line naming the field, exit 2", () => {
  it.each(FIELD_CASES.map((c, i) => [c.name, c, i] as const))("%s", (_name, c, i) => {
    const msg = expectScenarioError(cli(write(`case-${i}.yaml`, c.doc), ...(c.args ?? [])));
    expect(msg.startsWith(`${c.path}: `), `got: ${msg}`).toBe(true);
    expect(msg.slice(c.path.length + 2)).toMatch(c.message);
  });

  it("malformed YAML: says so, names the file and the line", () => {
    const file = write("malformed.yaml", [
      "topology: { preset: cloudmatrix384, nodes: 2 }",
      "workload:",
      "  kind: collective",
      "  collective: all-reduce",
      "  sizes: [4KiB, 1MiB",
      "",
    ].join("\n"));
    const msg = expectScenarioError(cli(file));
    expect(msg).toContain("malformed YAML");
    expect(msg).toContain(file);
    expect(msg).toMatch(/line \d+/);
  });

  it("missing file: names the file", () => {
    const file = join(dir, "no-such-scenario.yaml");
    const msg = expectScenarioError(cli(file));
    expect(msg).toContain(file);
    expect(msg).toMatch(/ENOENT/);
  });
});
