// What the outbox worker and the webhook worker share: a timer that drains their queue
// every interval, one drain at a time (a tick that finds one running joins it), and a
// stop that waits for the drain in progress.
export abstract class PeriodicDrain {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;

  /** One pass over what is due; resolves to how many were delivered. */
  protected abstract drainOnce(): Promise<number>;

  /** A drain broke off (the database is unreachable); the next tick tries again. */
  protected abstract drainFailed(error: unknown): void;

  start(intervalInMilliseconds = 500): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      void this.drain().catch((error: unknown) => this.report(() => this.drainFailed(error)));
    }, intervalInMilliseconds);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => 0);
  }

  drain(): Promise<number> {
    this.running ??= this.drainOnce().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** A broken logger must not break delivery. */
  protected report(callback: () => void): void {
    try {
      callback();
    } catch {
      // nothing sensible left to do
    }
  }
}
