import { createServer, type Server } from "node:net";

/**
 * `n` distinct TCP ports that were free on `host` a moment ago: each is bound (port 0: the kernel
 * picks), all are held at once so they differ, then all are released. Another process may take one
 * before its user binds it; callers that cannot use nats-server's own `-1` (a cluster's route ports
 * must be known before any server starts) retry on "address already in use".
 */
export async function freePorts(n: number, host: string): Promise<number[]> {
  const held: Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = createServer();
      held.push(s);
      await new Promise<void>((resolve, reject) => {
        s.once("error", reject);
        s.listen(0, host, () => resolve());
      });
    }
    return held.map((s) => {
      const a = s.address();
      if (a === null || typeof a === "string") throw new Error("listening socket has no TCP address");
      return a.port;
    });
  } finally {
    await Promise.all(held.map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))));
  }
}
