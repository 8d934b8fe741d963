// Closed-loop and open-loop load, bounded in time and in count, with latencies kept
// for percentiles. The same code drives both systems.
import { setTimeout as sleep } from 'node:timers/promises';

export interface OpResult {
  ok: boolean;
  status: number;
  /** No more work can be done (no user or challenge left): this worker stops. */
  exhausted?: boolean;
}

export interface LoopStats {
  ok: number;
  failed: number;
  statuses: Record<string, number>;
  elapsedMs: number;
  /** Latencies of successful operations, in ms. */
  latencies: number[];
  /** Why it ended: the time was up, the count was reached, or the work ran out. */
  ended: 'time' | 'count' | 'exhausted';
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function percentiles(values: number[]): Percentiles {
  if (values.length === 0) return { p50: Number.NaN, p90: Number.NaN, p99: Number.NaN, max: Number.NaN };
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted[sorted.length - 1]! };
}

function statusKey(result: OpResult): string {
  return result.status === 0 ? 'network_error' : String(result.status);
}

/** `concurrency` workers, each running `op` back to back until the time is up, `maxOps`
 * were started, or an op says the work is exhausted. */
export async function closedLoop(options: {
  concurrency: number;
  durationMs: number;
  maxOps: number;
  op: (worker: number) => Promise<OpResult>;
}): Promise<LoopStats> {
  const stats: LoopStats = { ok: 0, failed: 0, statuses: {}, elapsedMs: 0, latencies: [], ended: 'time' };
  const start = performance.now();
  const deadline = start + options.durationMs;
  let started = 0;
  let exhausted = false;
  const worker = async (index: number) => {
    while (!exhausted && performance.now() < deadline) {
      if (started >= options.maxOps) {
        stats.ended = 'count';
        return;
      }
      started += 1;
      const t0 = performance.now();
      let result: OpResult;
      try {
        result = await options.op(index);
      } catch {
        result = { ok: false, status: 0 };
      }
      if (result.exhausted) {
        exhausted = true;
        started -= 1;
        return;
      }
      const key = statusKey(result);
      stats.statuses[key] = (stats.statuses[key] ?? 0) + 1;
      if (result.ok) {
        stats.ok += 1;
        stats.latencies.push(performance.now() - t0);
      } else {
        stats.failed += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, i) => worker(i)));
  if (exhausted) stats.ended = 'exhausted';
  stats.elapsedMs = performance.now() - start;
  return stats;
}

export interface OpenLoopEvent {
  /** ms since the start of the open loop when the operation was due. */
  due: number;
  /** ms from due to completion (queueing in the client included: no coordinated omission). */
  latency: number;
  status: number;
  ok: boolean;
}

export interface OpenLoopStats {
  events: OpenLoopEvent[];
  /** Arrivals not sent because `maxOutstanding` operations were already in flight. */
  dropped: number;
  sent: number;
  /** When the last arrival was due, and when the last operation ended (ms from start). */
  arrivalsEndedAt: number;
  drainedAt: number;
}

/** Starts `op` at a fixed rate for `durationMs` whatever the answers, then waits (at
 * most `drainTimeoutMs`) for the operations in flight. `during` runs beside it. */
export async function openLoop(options: {
  ratePerSecond: number;
  durationMs: number;
  maxOutstanding: number;
  drainTimeoutMs: number;
  op: () => Promise<OpResult>;
  onArrivalsEnded?: () => void;
}): Promise<OpenLoopStats> {
  const stats: OpenLoopStats = { events: [], dropped: 0, sent: 0, arrivalsEndedAt: 0, drainedAt: 0 };
  const start = performance.now();
  const interval = 1000 / options.ratePerSecond;
  const total = Math.floor((options.durationMs / 1000) * options.ratePerSecond);
  let outstanding = 0;
  const inflight = new Set<Promise<void>>();
  for (let n = 0; n < total; n++) {
    const due = n * interval;
    const wait = start + due - performance.now();
    if (wait > 1) await sleep(wait);
    if (outstanding >= options.maxOutstanding) {
      stats.dropped += 1;
      continue;
    }
    outstanding += 1;
    stats.sent += 1;
    const task = (async () => {
      let result: OpResult;
      try {
        result = await options.op();
      } catch {
        result = { ok: false, status: 0 };
      }
      outstanding -= 1;
      stats.events.push({ due, latency: performance.now() - start - due, status: result.status, ok: result.ok });
    })();
    inflight.add(task);
    void task.finally(() => inflight.delete(task));
  }
  stats.arrivalsEndedAt = performance.now() - start;
  options.onArrivalsEnded?.();
  const drained = Promise.all([...inflight]).then(() => true);
  const timedOut = sleep(options.drainTimeoutMs).then(() => false);
  await Promise.race([drained, timedOut]);
  stats.drainedAt = performance.now() - start;
  return stats;
}
