import { connect } from "@nats-io/transport-node";
import { it } from "vitest";
import { decode } from "../../shared/codec/index.js";
import { loadScenario } from "../../shared/config/index.js";
import { silentLogger } from "../../shared/runtime/index.js";
import { NatsEngine, runScenario } from "../../services/coordinator/index.js";

it("debug", async () => {
  const raw = {
    topology: { preset: "cloudmatrix384", nodes: 2, npusPerNode: 4 },
    workload: { kind: "training", model: { base: "llama3-8b", layers: 4 }, parallel: { dp: 8 }, globalBatch: 8, seqLen: 1024, steps: 4, zero: 0, overlap: false, algorithms: { dp: "ring" } },
    seed: 5,
  };
  const loaded = loadScenario({ raw: { ...raw, engine: "nats", deployment: { natsServers: 3, placement: "per-actor", watchdogMs: 3_000 } } });
  await using engine = await NatsEngine.start(loaded, silentLogger);
  const urls = (engine as any).server.urls as string[];
  console.log("coordinator on", engine.url, "urls", urls);
  const spy = await connect({ servers: urls[0]! });
  const t0 = Date.now();
  const ev: string[] = [];
  spy.subscribe(`sn.${engine.run}.>`, { callback: (_e, m) => {
    const parts = m.subject.split(".");
    if (parts[2] === "d" || parts[2] === "h") return;
    let t = "?"; try { const x = decode(m.data) as any; t = `${x.type} op ${x.op}`; } catch {}
    ev.push(`${Date.now() - t0} ${parts[2]} ${parts[3]}->${parts[4]} ${t}`);
  } });
  (async () => { for await (const s of engine.connection.status()) ev.push(`${Date.now() - t0} COORD ${s.type} ${(s as any).server ?? ""}`); })();
  await spy.flush();
  const mons = ((engine as any).server.servers as any[]).map((x) => x.monitorPort);
  for (const [i, mp] of mons.entries()) {
    const c = await (await fetch(`http://127.0.0.1:${mp}/connz?limit=100`)).json() as any;
    console.log(`server ${i}:`, c.connections.map((x: any) => x.name).join(" "));
  }
  const progress = { start() {}, stop() {}, update(done: number, phase: string) { if (done === 2 && phase.endsWith("verified")) { ev.push(`${Date.now() - t0} KILL`); void engine.killServer(1); } } };
  const r = await runScenario(loaded, engine, undefined, progress);
  console.log(r.status, r.stall);
  console.log(ev.filter((e) => !e.includes("op 1") && !e.includes("op 2") && !e.includes("op-open") && !e.includes("op-close")).join("\n"));
  await spy.close();
});
