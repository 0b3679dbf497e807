/** The epoch of a fresh run; recovery (chaos issue) will bump it. */
export const FIRST_EPOCH = 1;

/** Incarnations handed out in a run (restarts by recovery, switches readmitted): each one higher than the last. */
export class Incarnations {
  private n = 0;
  next(): number { return ++this.n; }
}
