import { DeviceKind, type Topology } from "../../../shared/topology/index.js";
import type { DeviceId } from "../../../shared/units/index.js";
import { actorToken, Channel, COORDINATOR, Subjects, SUBJECT_ROOT, type ActorRef } from "../../../shared/protocol/index.js";

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

/** The reply inboxes of `supernode chaos` for a run (under the operator's: an operator may read them). */
export function chaosInboxPrefix(run: string): string {
  return `${operatorInboxPrefix(run)}.chaos`;
}

/** The reply inboxes of an operator's client of a run: connect with `inboxPrefix` set to this. */
export function operatorInboxPrefix(run: string): string {
  return `_INBOX.${new Subjects(run).run}`;
}

/** Subject patterns of one run (`sn.<run>.…`); the run id is checked as `Subjects` checks it. */
function runPatterns(run: string) {
  const s = new Subjects(run);
  const root = `${SUBJECT_ROOT}.${s.run}`;
  return {
    /** Every subject of the run. */
    all: `${root}.>`,
    /** Everything `from` sends on a channel, to anyone. */
    from: (channel: Channel, from: ActorRef) => `${root}.${channel}.${actorToken(from)}.>`,
    /** Everything addressed to `me`. */
    inbox: (me: ActorRef) => s.inbox(me),
    /** `from` → `to` on a channel. */
    to: (channel: Channel, from: ActorRef, to: ActorRef) => s.to(channel, from, to),
    /** Control messages from anyone (chaos injects faults as control). */
    control: `${root}.${Channel.Control}.>`,
    /** The coordinator's control API (a NATS micro service group, services/coordinator/control-service.ts). */
    api: `${root}.api.>`,
    /** The control API's fault injection (`supernode chaos`). */
    chaosApi: `${root}.api.chaos`,
  };
}

/**
 * Discovery of NATS micro services (`$SRV.PING|INFO|STATS[.<name>[.<id>]]`) is global by the micro
 * protocol: it has no place for a run id, so it cannot be pinned to one. What crosses runs through it is
 * only service metadata (name, version, `metadata.run`, endpoint subjects), never a call: the endpoints
 * themselves are under `sn.<run>.api`.
 */
const SERVICE_DISCOVERY = "$SRV.>";

/**
 * What each role may do on `sn.<run>.<channel>.<from>.<to>` (shared/protocol subjects), for one run id:
 * every pattern names `run`, so a credential of one run can neither publish nor subscribe on another
 * run's subjects — one set of credentials per run, and several runs on one cluster do not see each
 * other. An actor publishes only as itself: data from it, reports and heartbeats from it to the
 * coordinator; it reads only what is addressed to it. Only the coordinator sends control as `coord`;
 * chaos may send control and call the control API's `chaos` (fault injection, replies under
 * {@link chaosInboxPrefix}) and watch the run; an observer only watches it; an operator
 * only calls the run's control API (and `$SRV` discovery) and reads its replies on `_INBOX.<run>.>`
 * ({@link operatorInboxPrefix}; the default `_INBOX.>` would let it read other runs' replies).
 */
export function permissionsOf(p: Principal, run: string): Permissions {
  const r = runPatterns(run);
  switch (p.role) {
    case Role.Npu:
    case Role.Switch:
    case Role.Host:
      return {
        publish: { allow: p.actors.flatMap((id) => [r.from(Channel.Data, id), r.to(Channel.Report, id, COORDINATOR), r.to(Channel.Heartbeat, id, COORDINATOR)]) },
        subscribe: { allow: p.actors.map((id) => r.inbox(id)) },
      };
    case Role.Coordinator:
      return {
        publish: { allow: [r.from(Channel.Control, COORDINATOR)] },
        subscribe: { allow: [r.inbox(COORDINATOR), r.api, SERVICE_DISCOVERY] },
        allowResponses: true,
      };
    case Role.Chaos:
      return { publish: { allow: [r.control, r.chaosApi] }, subscribe: { allow: [r.all, `${chaosInboxPrefix(run)}.>`] } };
    case Role.Observer:
      return { publish: { deny: [">"] }, subscribe: { allow: [r.all] } };
    case Role.Operator:
      return { publish: { allow: [r.api, SERVICE_DISCOVERY] }, subscribe: { allow: [`${operatorInboxPrefix(run)}.>`] } };
    default: {
      const never: never = p.role;
      throw new Error(`unknown role ${String(never)}`);
    }
  }
}
