/** Nominal typing for ids and units: a number that the compiler will not mix with another kind. */
export type Brand<T, B extends string> = T & { readonly __brand: B };

/** Virtual time in nanoseconds, on the 1/1024 ns grid of shared/linkmodel. Never a wall-clock reading. */
export type SimNs = Brand<number, "SimNs">;
/** A modelled size in bytes (integer). */
export type Bytes = Brand<number, "Bytes">;
/** Bandwidth in GB/s (1e9 bytes/s), which is numerically bytes per nanosecond. */
export type GBps = Brand<number, "GBps">;

/** Dense index of a device (NPU/die endpoint or switch chip) in a compiled topology. */
export type DeviceId = Brand<number, "DeviceId">;
/** A device that is an endpoint (NPU, or one die of an NPU when rankUnit is `die`). */
export type NpuId = DeviceId & { readonly __npu: true };
/** A device that is a switch chip (or an aggregated group of parallel chips). */
export type SwitchId = DeviceId & { readonly __switch: true };
/** Dense index of a directed link in a compiled topology. */
export type LinkId = Brand<number, "LinkId">;

export const simNs = (n: number): SimNs => n as SimNs;
export const bytes = (n: number): Bytes => n as Bytes;
export const gbps = (n: number): GBps => n as GBps;
export const linkId = (n: number): LinkId => n as LinkId;
export const deviceId = (n: number): DeviceId => n as DeviceId;
export const npuId = (n: number): NpuId => n as NpuId;
export const switchId = (n: number): SwitchId => n as SwitchId;
