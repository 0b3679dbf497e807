import { ProtocolError } from "../errors/index.js";
import { MESSAGE_TYPES, PROTOCOL_VERSION, type Message } from "./messages.js";

const isInt = (x: unknown): x is number => typeof x === "number" && Number.isInteger(x);
const isNum = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x);

/**
 * Turns a decoded value into a protocol message or throws ProtocolError. Checks the header and the
 * fields a handler relies on, so a handler never meets a shape it does not expect.
 */
export function asMessage(x: unknown): Message {
  if (typeof x !== "object" || x === null || Array.isArray(x)) throw new ProtocolError("message is not a map");
  const m = x as Record<string, unknown>;
  if (m.v !== PROTOCOL_VERSION) throw new ProtocolError(`protocol version ${String(m.v)} is not ${PROTOCOL_VERSION}`);
  if (!MESSAGE_TYPES.includes(m.type as Message["type"])) throw new ProtocolError(`unknown message type ${JSON.stringify(m.type)}`);
  if (!isInt(m.from) || !isInt(m.epoch) || !isInt(m.inc)) throw new ProtocolError("bad header (from/epoch/inc)");
  switch (m.type as Message["type"]) {
    case "data":
      if (![m.op, m.src, m.dst, m.tag, m.stripe, m.stripes, m.bytes, m.totalBytes, m.hop, m.crc].every(isInt)) throw new ProtocolError("data: bad integer field");
      if (![m.sentNs, m.headNs, m.tailNs].every(isNum)) throw new ProtocolError("data: bad time field");
      if (!Array.isArray(m.path) || !m.path.every(isInt)) throw new ProtocolError("data: bad path");
      if (!(m.payload instanceof Float64Array)) throw new ProtocolError("data: payload is not a Float64Array");
      if ((m.hop as number) < 0 || (m.hop as number) >= m.path.length) throw new ProtocolError("data: hop outside path");
      if ((m.stripe as number) < 0 || (m.stripe as number) >= (m.stripes as number)) throw new ProtocolError("data: stripe outside stripes");
      break;
    case "op-start":
      if (typeof m.spec !== "object" || m.spec === null || !isNum(m.startNs)) throw new ProtocolError("op-start: bad spec");
      break;
    case "op-abort":
      if (!isInt(m.op) || typeof m.reason !== "string") throw new ProtocolError("op-abort: bad fields");
      break;
    case "op-done":
      if (![m.op, m.rank, m.sentMessages].every(isInt) || !isNum(m.endNs) || !(m.result instanceof Float64Array)) throw new ProtocolError("op-done: bad fields");
      break;
  }
  return m as unknown as Message;
}
