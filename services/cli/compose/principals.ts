import { DeviceKind, type Topology } from "../../../shared/topology/index.js";
import type { DeviceId } from "../../../shared/units/index.js";

/**
 * Who may connect to a supernode's NATS cluster. `npu` and `switch` are one actor each (per-actor
 * placement); `host` is a container of several actors (grouped placement); the others are one
 * principal per role. `operator` is a user's program driving the coordinator's control API.
 */
export const Role = {
  Npu: "npu",
  Switch: "switch",
  Host: "host",
  Coordinator: "coordinator",
  Chaos: "chaos",
  Observer: "observer",
  Operator: "operator",
} as const;
export type Role = (typeof Role)[keyof typeof Role];

/** A NATS user: its name (also its container's and credentials file's), role and the actors it hosts. */
export interface Principal {
  readonly user: string;
  readonly role: Role;
  /** Device ids this principal hosts and may speak for; empty for coordinator, chaos and observer. */
  readonly actors: readonly DeviceId[];
  /** Environment variable that holds its password on the NATS servers (and nowhere in the repo). */
  readonly passwordVar: string;
}

/** Subject permissions of one NATS user, in nats-server's terms. */
export interface Permissions {
  readonly publish: { readonly allow?: readonly string[]; readonly deny?: readonly string[] };
  readonly subscribe: { readonly allow?: readonly string[]; readonly deny?: readonly string[] };
  /** May answer requests it received (reply subjects), whatever `publish` says. */
  readonly allowResponses?: boolean;
}

/** `npu.n0.3` → `npu-n0-3`: a name that is a valid compose service, DNS label and NATS user. */
export function serviceName(deviceName: string): string {
  return deviceName.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "");
}

function principal(user: string, role: Role, actors: readonly DeviceId[]): Principal {
  return { user, role, actors, passwordVar: `SN_PASS_${user.toUpperCase().replace(/-/g, "_")}` };
}

/**
 * One principal per actor group (`placeActors`' output) plus the coordinator, chaos and observer
 * roles. A group of one actor is that NPU or switch; a larger group is a host named after its node
 * (`node-0`) or, for spine switches, `spine-<k>`.
 */
export function principalsFor(t: Topology, groups: readonly (readonly DeviceId[])[]): Principal[] {
  let spines = 0;
  const actors = groups.map((g) => {
    const first = t.devices[g[0]!]!;
    if (g.length === 1) return principal(serviceName(first.name), first.kind === DeviceKind.Npu ? Role.Npu : Role.Switch, g);
    const name = first.node >= 0 ? `node-${first.node}` : `spine-${spines++}`;
    return principal(name, Role.Host, g);
  });
  return [
    principal("coordinator", Role.Coordinator, []),
    principal("chaos", Role.Chaos, []),
    principal("observer", Role.Observer, []),
    principal("operator", Role.Operator, []),
    ...actors,
  ];
}

/**
 * What each role may do on `sn.<run>.<channel>.<from>.<to>` (shared/protocol subjects). An actor
 * publishes only as itself: data from it, reports and heartbeats from it to the coordinator; it reads
 * only what is addressed to it. Only the coordinator sends control as `coord`; chaos may send control
 * (fault injection) and watch; an observer only watches; an operator only calls the control API
 * (`sn.<run>.api.*`, `$SRV.*` discovery) and reads its replies. Any run id (`sn.*`), so one cluster and one
 * set of credentials serve several runs.
 */
export function permissionsOf(p: Principal): Permissions {
  switch (p.role) {
    case Role.Npu:
    case Role.Switch:
    case Role.Host:
      return {
        publish: { allow: p.actors.flatMap((id) => [`sn.*.d.${id}.>`, `sn.*.u.${id}.coord`, `sn.*.h.${id}.coord`]) },
        subscribe: { allow: p.actors.map((id) => `sn.*.*.*.${id}`) },
      };
    case Role.Coordinator:
      // The control API is a NATS micro service: endpoints under sn.<run>.api, discovery under $SRV.
      return {
        publish: { allow: ["sn.*.c.coord.>"] },
        subscribe: { allow: ["sn.*.*.*.coord", "sn.*.api.>", "$SRV.>"] },
        allowResponses: true,
      };
    case Role.Chaos:
      return { publish: { allow: ["sn.*.c.>"] }, subscribe: { allow: ["sn.>"] } };
    case Role.Observer:
      return { publish: { deny: [">"] }, subscribe: { allow: ["sn.>"] } };
    case Role.Operator:
      return { publish: { allow: ["sn.*.api.>", "$SRV.>"] }, subscribe: { allow: ["_INBOX.>"] } };
    default: {
      const never: never = p.role;
      throw new Error(`unknown role ${String(never)}`);
    }
  }
}
