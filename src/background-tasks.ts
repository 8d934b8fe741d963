// Work a request starts but does not wait for, where waiting would tell the client
// something: a password reset answers before it looks the person up, so its timing
// cannot say whether the email exists (SECURITY.md). A task that fails is logged; the
// work is the kind a person simply asks for again. `settle()` waits for what is
// running (shutdown, the development outbox, tests).
import type { BackgroundWork } from './services/deps.js';

export class BackgroundTasks implements BackgroundWork {
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly onError: (error: unknown) => void) {}

  run(task: () => Promise<void>): void {
    const promise = Promise.resolve()
      .then(task)
      .catch((error: unknown) => this.onError(error))
      .finally(() => this.running.delete(promise));
    this.running.add(promise);
  }

  async settle(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running);
  }
}
