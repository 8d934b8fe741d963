// One measured loop as a report's workload: rates, latency percentiles, CPU per
// operation (the server's, the client's, and the database backends' when measured),
// the machine's other load and the server's peak memory.
import { availableParallelism } from 'node:os';
import { percentiles, type LoopStats } from './load.js';
import type { cpuDelta } from './proc.js';
import type { WorkloadResult } from './report.js';

const CORES = availableParallelism();

export interface DatabaseCpu {
  ms: number;
  backends: number;
}

export function summarize(
  stats: LoopStats,
  extra: { serverPid: number | null; cpu: ReturnType<typeof cpuDelta>; peakRss: number | null; database?: DatabaseCpu | null },
): WorkloadResult {
  const p = percentiles(stats.latencies);
  const seconds = stats.elapsedMs / 1000;
  const database = extra.database ?? null;
  // The backends ran on the same cores: their share is the database's, not noise.
  const databaseShare = database && stats.elapsedMs > 0 ? database.ms / (stats.elapsedMs * CORES) : 0;
  return {
    ok: stats.ok,
    failed: stats.failed,
    statuses: stats.statuses,
    seconds,
    ended: stats.ended,
    perSecond: stats.ok / seconds,
    p50: p.p50,
    p90: p.p90,
    p99: p.p99,
    max: p.max,
    serverCpuMsPerOp: stats.ok > 0 ? extra.cpu.serverMs / stats.ok : Number.NaN,
    clientCpuMsPerOp: stats.ok > 0 ? extra.cpu.clientMs / stats.ok : Number.NaN,
    databaseCpuMsPerOp: database ? (stats.ok > 0 ? database.ms / stats.ok : Number.NaN) : null,
    databaseBackends: database ? database.backends : null,
    otherLoadShare: Math.max(0, extra.cpu.otherShare - databaseShare),
    peakRssMiB: extra.peakRss,
  };
}
