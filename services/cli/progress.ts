import { SingleBar } from "cli-progress";
import { NO_PROGRESS, type Progress, type ProgressUnit } from "../coordinator/index.js";

/**
 * A run that ends sooner shows no progress at all, so the quick default commands print only their
 * table: the default `supernode run` takes 0.8–1.1 s on a loaded 2-core machine.
 */
export const DEFAULT_SHOW_AFTER_MS = 2_000;
/** Plain lines (stderr not a terminal: CI, a log file) come at most this often, plus one at the end. */
export const DEFAULT_PLAIN_INTERVAL_MS = 10_000;
/** How often the renderers look at the clock between updates (a long op on the NATS engine; the sim engine holds the thread). */
const TICK_MS = 1_000;
const BAR_CHARS = 20;

/** stderr, or a test's stand-in for it. */
export type ProgressStream = NodeJS.WritableStream & { readonly isTTY?: boolean; readonly columns?: number };

/** Calls `fn` every `ms` of wall time until the returned function is called. */
export type Every = (ms: number, fn: () => void) => () => void;

export interface ProgressOptions {
  /** `--quiet`: nothing at all. */
  readonly quiet?: boolean;
  /** Default process.stderr; a bar when it is a TTY, plain lines otherwise. */
  readonly stream?: ProgressStream;
  /** Wall clock in ms (default performance.now). */
  readonly now?: () => number;
  /** The renderers' tick (default: an unref'd setInterval). */
  readonly every?: Every;
  readonly showAfterMs?: number;
  readonly intervalMs?: number;
}

/** The renderer for this process's stderr: a bar on a terminal, plain lines otherwise, nothing when quiet. */
export function createProgress(o: ProgressOptions = {}): Progress {
  if (o.quiet) return NO_PROGRESS;
  const stream = o.stream ?? process.stderr;
  const tally = new Tally(o.now ?? (() => performance.now()));
  const every = o.every ?? everyMs;
  const showAfterMs = o.showAfterMs ?? DEFAULT_SHOW_AFTER_MS;
  return stream.isTTY ? new BarProgress(stream, tally, every, showAfterMs) : new PlainProgress(stream, tally, every, showAfterMs, o.intervalMs ?? DEFAULT_PLAIN_INTERVAL_MS);
}

const everyMs: Every = (ms, fn) => {
  const h = setInterval(fn, ms);
  h.unref(); // never what keeps the process alive
  return () => clearInterval(h);
};

/** `42s`, `4m 10s`, `1h 5m`; `--` when there is nothing to estimate from yet. */
export function formatEta(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return "--";
  const s = Math.round(Math.max(0, ms) / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

/** What both renderers show, in wall time. The ETA is the mean wall time of the finished units times those left, counting down. */
class Tally {
  total = 0; unit: ProgressUnit = "step"; label = ""; done = 0; phase = "starting";
  private t0 = 0; private lastDoneAt = 0;
  constructor(readonly now: () => number) {}

  start(total: number, unit: ProgressUnit, label: string): void {
    this.total = total; this.unit = unit; this.label = label; this.done = 0; this.phase = "starting";
    this.t0 = this.lastDoneAt = this.now();
  }

  update(done: number, phase: string): void {
    if (done !== this.done) { this.done = done; this.lastDoneAt = this.now(); }
    this.phase = phase;
  }

  elapsedMs(): number { return this.now() - this.t0; }

  etaMs(): number | undefined {
    if (this.done <= 0) return undefined;
    const perUnit = (this.lastDoneAt - this.t0) / this.done;
    return Math.max(0, perUnit * (this.total - this.done) - (this.now() - this.lastDoneAt));
  }

  /** `step 2/50 (4%)` */
  count(): string {
    const pct = this.total > 0 ? Math.floor((100 * this.done) / this.total) : 100;
    return `${this.unit} ${this.done}/${this.total} (${pct}%)`;
  }
}

/**
 * Not a terminal: a line when the run has lasted `showAfterMs`, then at most one per `intervalMs`,
 * and one when it stops (none at all for a run shorter than `showAfterMs`).
 */
class PlainProgress implements Progress {
  private running = false; private shown = false; private lastLineAt = 0; private cancel = () => {};
  constructor(private readonly out: ProgressStream, private readonly t: Tally, private readonly every: Every, private readonly showAfterMs: number, private readonly intervalMs: number) {}

  start(total: number, unit: ProgressUnit, label: string): void {
    this.stop();
    this.t.start(total, unit, label);
    this.running = true; this.shown = false;
    this.cancel = this.every(TICK_MS, () => this.tick());
  }

  update(done: number, phase: string): void {
    if (!this.running) return;
    this.t.update(done, phase);
    this.tick();
  }

  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.cancel();
    if (!this.shown && this.t.elapsedMs() < this.showAfterMs) return;
    const end = this.t.done >= this.t.total ? "done" : `stopped: ${this.t.phase}`;
    this.line(`${this.t.count()} · ${end} · elapsed ${seconds(this.t.elapsedMs())}`);
  }

  private tick(): void {
    if (!this.running) return;
    const now = this.t.now();
    if (this.shown ? now - this.lastLineAt < this.intervalMs : this.t.elapsedMs() < this.showAfterMs) return;
    this.shown = true; this.lastLineAt = now;
    this.line(`${this.t.count()} · ${this.t.phase} · elapsed ${seconds(this.t.elapsedMs())} · ETA ${formatEta(this.t.etaMs())}`);
  }

  private line(s: string): void {
    this.out.write(`progress: ${this.t.label ? `${this.t.label} · ` : ""}${s}\n`);
  }
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/**
 * A terminal: a cli-progress bar on one line once the run has lasted `showAfterMs`, redrawn on every
 * update (the sim engine holds the thread through a step: the bar's own timer would not run), and
 * cleared when the run stops, before the table is printed.
 */
class BarProgress implements Progress {
  private running = false; private bar: SingleBar | undefined; private cancel = () => {};
  constructor(private readonly out: ProgressStream, private readonly t: Tally, private readonly every: Every, private readonly showAfterMs: number) {}

  start(total: number, unit: ProgressUnit, label: string): void {
    this.stop();
    this.t.start(total, unit, label);
    this.running = true;
    this.cancel = this.every(TICK_MS, () => this.tick());
    this.tick();
  }

  update(done: number, phase: string): void {
    if (!this.running) return;
    this.t.update(done, phase);
    this.tick();
  }

  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.cancel();
    this.bar?.update(this.t.done, this.payload());
    this.bar?.stop();
    this.bar = undefined;
  }

  private tick(): void {
    if (!this.running) return;
    if (this.bar) {
      this.bar.update(this.t.done, this.payload());
      this.bar.render();
    } else if (this.t.elapsedMs() >= this.showAfterMs) {
      this.bar = new SingleBar({
        stream: this.out, format: `[{bar}] ${this.t.unit} {value}/{total} | {phase} | ETA {etaWall}{label}`, barsize: BAR_CHARS,
        clearOnComplete: true, linewrap: true, // linewrap: cut to the terminal's width, never change its modes
      });
      this.bar.start(this.t.total, this.t.done, this.payload());
    }
  }

  private payload(): { label: string; phase: string; etaWall: string } {
    // The label last: cut first on a narrow terminal.
    return { label: this.t.label ? ` | ${this.t.label}` : "", phase: this.t.phase, etaWall: formatEta(this.t.etaMs()) };
  }
}
