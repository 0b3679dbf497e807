// The image's health check: healthy while this container holds an established TCP connection to one
// of its NATS servers (SUPERNODE_NATS), read from /proc/net/tcp* — no tools, no extra connection.
// Without SUPERNODE_NATS (a standalone `supernode run`), being alive is healthy.
import { readFileSync } from "node:fs";

const ESTABLISHED = "01";
const urls = (process.env.SUPERNODE_NATS ?? "").split(",").filter(Boolean);
if (urls.length === 0) process.exit(0);
const ports = new Set(urls.map((u) => Number(new URL(u.includes("://") ? u : `nats://${u}`).port || 4222)));

const connected = ["/proc/net/tcp", "/proc/net/tcp6"].some((file) => {
  let text = "";
  try { text = readFileSync(file, "utf8"); } catch { return false; }
  return text.split("\n").slice(1).some((line) => {
    const f = line.trim().split(/\s+/);
    const remotePort = parseInt((f[2] ?? "").split(":")[1] ?? "", 16);
    return f[3] === ESTABLISHED && ports.has(remotePort);
  });
});
process.exit(connected ? 0 : 1);
