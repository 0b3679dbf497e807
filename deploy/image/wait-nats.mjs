// Waits until one of the NATS servers in SUPERNODE_NATS accepts a TCP connection, so that a container
// started beside its servers does not fail its first connect. Gives up after SUPERNODE_NATS_WAIT_MS.
import { connect } from "node:net";

const DEFAULT_WAIT_MS = 30_000;
const RETRY_MS = 100;
const urls = (process.env.SUPERNODE_NATS ?? "").split(",").filter(Boolean).map((u) => new URL(u.includes("://") ? u : `nats://${u}`));
const deadline = Date.now() + Number(process.env.SUPERNODE_NATS_WAIT_MS ?? DEFAULT_WAIT_MS);

const reachable = (u) => new Promise((resolve) => {
  const s = connect({ host: u.hostname, port: Number(u.port || 4222) });
  s.setTimeout(1_000);
  s.once("connect", () => { s.destroy(); resolve(true); });
  s.once("timeout", () => { s.destroy(); resolve(false); });
  s.once("error", () => resolve(false));
});

for (;;) {
  const ok = await Promise.all(urls.map(reachable));
  if (ok.some(Boolean)) process.exit(0);
  if (Date.now() > deadline) {
    process.stderr.write(`supernode: no NATS server of ${urls.map((u) => u.host).join(", ")} reachable\n`);
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, RETRY_MS));
}
