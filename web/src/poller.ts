// One poller per screen: it reads, then applies what it read, then waits, and again. Never two
// reads at once: asking for a refresh (kick, after an action or a changed filter) cancels the
// read under way, so answers are applied in the order they were asked for, and a stopped
// poller (the screen left) applies nothing more.

/**
 * Poller reads with load (cancelled through its signal) and hands each answer to apply, every
 * ms after the last one was applied; a failed read goes to fail, and the polling goes on.
 */
export class Poller<T> {
  private ctl: AbortController | null = null;
  private timer: number | undefined;
  private stopped = false;
  private debounce: number | undefined;

  constructor(
    private readonly load: (signal: AbortSignal) => Promise<T>,
    private readonly apply: (answer: T) => void,
    private readonly fail: (e: unknown) => void,
    private readonly ms = 2000,
  ) {}

  /** kick reads now, cancelling a read under way; it resolves once this read is applied or fails. */
  kick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    window.clearTimeout(this.timer);
    window.clearTimeout(this.debounce);
    this.ctl?.abort();
    const ctl = (this.ctl = new AbortController());
    return this.load(ctl.signal)
      .then((answer) => {
        if (this.ctl === ctl && !this.stopped) this.apply(answer);
      })
      .catch((e) => {
        if (this.ctl === ctl && !this.stopped && !ctl.signal.aborted) this.fail(e);
      })
      .finally(() => {
        if (this.ctl === ctl && !this.stopped) {
          this.ctl = null;
          this.timer = window.setTimeout(() => void this.kick(), this.ms);
        }
      });
  }

  /** soon reads after ms of quiet (a filter being typed reads once, when typing pauses). */
  soon(ms = 300) {
    window.clearTimeout(this.debounce);
    this.debounce = window.setTimeout(() => void this.kick(), ms);
  }

  /** stop cancels the read under way and every later one. */
  stop() {
    this.stopped = true;
    window.clearTimeout(this.timer);
    window.clearTimeout(this.debounce);
    this.ctl?.abort();
  }
}
