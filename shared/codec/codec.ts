import { Packr } from "msgpackr";
import { asMessage, type Message } from "../protocol/index.js";

/** Largest encoded message accepted from the wire. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

// One configuration for the whole project: plain maps (no record structures shared across
// messages, so each message decodes on its own) and typed arrays kept as typed arrays.
const packr = new Packr({ useRecords: false, moreTypes: true, structuredClone: false });

export function encode(m: Message): Uint8Array {
  return packr.pack(m);
}

/** Decodes and validates bytes from the wire; throws ProtocolError (or a decode error) on bad input. */
export function decode(bytes: Uint8Array): Message {
  if (bytes.byteLength > MAX_MESSAGE_BYTES) throw new RangeError(`message of ${bytes.byteLength} bytes exceeds ${MAX_MESSAGE_BYTES}`);
  return asMessage(packr.unpack(bytes));
}
