import { existsSync } from "node:fs";
import { connect } from "@nats-io/transport-node";
import { afterEach, describe, expect, it } from "vitest";
import { NATS_SERVER_BIN_ENV, NatsServerNotFound, startEmbeddedServer } from "../../shared/natsserver/index.js";

const REQUEST_TIMEOUT_MS = 2_000;
const INSTALL_MESSAGE = "nats-server not found: install it (Debian: apt-get install nats-server) or set NATS_SERVER_BIN";

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("embedded nats-server", () => {
  const savedBin = process.env[NATS_SERVER_BIN_ENV];
  afterEach(() => {
    if (savedBin === undefined) delete process.env[NATS_SERVER_BIN_ENV];
    else process.env[NATS_SERVER_BIN_ENV] = savedBin;
  });

  it("serves request/reply on loopback, then stops for good (twice is a no-op)", async () => {
    const server = await startEmbeddedServer();
    expect(server.url).toBe(`nats://127.0.0.1:${server.port}`);
    expect(isAlive(server.pid)).toBe(true);

    const nc = await connect({ servers: server.url });
    nc.subscribe("echo", { callback: (_err, msg) => msg.respond(msg.data) });
    const reply = await nc.request("echo", "ping", { timeout: REQUEST_TIMEOUT_MS });
    expect(reply.string()).toBe("ping");
    // Without -js nobody answers the JetStream API: the JetStream check below can tell the difference.
    await expect(nc.request("$JS.API.INFO", "", { timeout: REQUEST_TIMEOUT_MS })).rejects.toThrow();
    await nc.close();

    await server.stop();
    expect(isAlive(server.pid)).toBe(false);
    await expect(server.stop()).resolves.toBeUndefined();
  });

  it("enables JetStream in a temp store dir that stop() removes", async () => {
    let storeDir: string | undefined;
    {
      await using server = await startEmbeddedServer({ jetstream: true });
      storeDir = server.storeDir;
      expect(storeDir !== undefined && existsSync(storeDir)).toBe(true);
      const nc = await connect({ servers: server.url });
      const reply = await nc.request("$JS.API.INFO", "", { timeout: REQUEST_TIMEOUT_MS });
      const info = reply.json<{ type?: string; error?: unknown }>();
      expect(info.error).toBeUndefined();
      expect(info.type).toBe("io.nats.jetstream.api.v1.account_info_response");
      await nc.close();
    }
    expect(existsSync(storeDir ?? "")).toBe(false);
  });

  it("rejects with the one-line install message when NATS_SERVER_BIN names a missing file", async () => {
    process.env[NATS_SERVER_BIN_ENV] = "/nonexistent/nats-server";
    const err: unknown = await startEmbeddedServer().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NatsServerNotFound);
    expect((err as Error).message).toBe(INSTALL_MESSAGE); // exactly one line
  });

  it("reports the server's own output when it cannot start", async () => {
    const started = startEmbeddedServer({ jetstream: true, storeDir: "/proc/not-writable" });
    await expect(started).rejects.toThrow(/Can't start JetStream/);
  });

  it("stops a running server when its signal aborts", async () => {
    const ac = new AbortController();
    const server = await startEmbeddedServer({ signal: ac.signal });
    ac.abort();
    await server.stop(); // joins the stop the abort began
    expect(isAlive(server.pid)).toBe(false);
  });
});
