/** Plain wire form of an error, safe to put in a message or a report. */
export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly retryable: boolean;
  readonly path?: string;
}

/** Base of the project's few named errors: a cause, and whether retrying can help. */
export class SupernodeError extends Error {
  readonly retryable: boolean;
  constructor(message: string, opts: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.retryable = opts.retryable ?? false;
  }
  toWire(): WireError {
    return { name: this.name, message: this.message, retryable: this.retryable };
  }
}

/** The user's scenario is invalid. `path` names the offending field, e.g. `topology.nodes`. */
export class ScenarioError extends SupernodeError {
  readonly path: string;
  constructor(path: string, message: string, opts: { cause?: unknown } = {}) {
    super(path ? `${path}: ${message}` : message, opts);
    this.path = path;
  }
  override toWire(): WireError {
    return { ...super.toWire(), path: this.path };
  }
}

/** Bytes or a message from the wire that cannot be accepted (undecodable, unknown type, wrong version). */
export class ProtocolError extends SupernodeError {}

/** A collective or actor failed while running (data mismatch, missing peer, internal fault). */
export class RunError extends SupernodeError {}

/** Turns anything thrown into a wire error without losing the message. */
export function toWireError(err: unknown): WireError {
  if (err instanceof SupernodeError) return err.toWire();
  if (err instanceof Error) return { name: err.name, message: err.message, retryable: false };
  return { name: "Error", message: String(err), retryable: false };
}
