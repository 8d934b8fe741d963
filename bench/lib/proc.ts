// Per-process figures from /proc (Linux): CPU time, peak resident memory, and the
// machine's total busy time (to notice other work running beside the benchmark).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** USER_HZ: /proc counts CPU time in ticks of 1/100 s on Linux. */
const TICK_MS = 10;

/** utime + stime of a process (all its threads, so argon2's thread pool too), in ms. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After "pid (comm) ", field 3 (state) is index 0: utime is field 14, stime 15.
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

function statusField(pid: number, name: string): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
  return match ? Number(match[1]) : Number.NaN;
}

/** Peak resident set size (VmHWM) in MiB. */
export function peakRssMiB(pid: number): number {
  return statusField(pid, 'VmHWM') / 1024;
}

export function rssMiB(pid: number): number {
  return statusField(pid, 'VmRSS') / 1024;
}

/** Resets VmHWM to the current RSS (Linux ≥ 4.0, writing 5 to clear_refs), so each
 * workload reports its own peak. Returns false where that is not allowed. */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** CPU ms spent by the whole machine (all cores, not idle or waiting on I/O). */
export function machineBusyMs(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  return (user! + nice! + system! + irq! + softirq! + steal!) * TICK_MS;
}

export function selfCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** A reading of everything a workload reports about CPU, taken at its start and end. */
export interface CpuSnapshot {
  at: number;
  server: number;
  client: number;
  machine: number;
}

export function snapshot(serverPid: number | null): CpuSnapshot {
  return { at: performance.now(), server: serverPid === null ? 0 : cpuMs(serverPid), client: selfCpuMs(), machine: machineBusyMs() };
}

export interface CpuDelta {
  serverMs: number;
  clientMs: number;
  /** CPU used by other processes on the machine during the window, as a share of all cores. */
  otherShare: number;
}

export function cpuDelta(start: CpuSnapshot, end: CpuSnapshot, cores: number): CpuDelta {
  const wall = end.at - start.at;
  const serverMs = end.server - start.server;
  const clientMs = end.client - start.client;
  const other = end.machine - start.machine - serverMs - clientMs;
  return { serverMs, clientMs, otherShare: wall > 0 ? Math.max(0, other) / (wall * cores) : 0 };
}

/** Extra node flags for both servers, e.g. BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof". */
export function nodeArgs(): string[] {
  return (process.env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter((arg) => arg.length > 0);
}

/** Every server this run started, killed if the benchmark itself stops early. */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

export interface Server {
  name: string;
  child: ChildProcess;
  pid: number;
  origin: string;
}

/** Starts a server process, its output going to logFile, and waits until `readyPath`
 * answers 200 (at most 60 s). */
export async function startServer(input: {
  name: string;
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  port: number;
  readyPath: string;
  logFile: string;
}): Promise<Server> {
  const log = createWriteStream(input.logFile, { flags: 'a' });
  const child = spawn(input.command, input.args, { cwd: input.cwd, env: input.env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const origin = `http://127.0.0.1:${input.port}`;
  const deadline = Date.now() + 60_000;
  let exited: number | null = null;
  child.once('exit', (code) => {
    exited = code ?? -1;
  });
  while (Date.now() < deadline) {
    if (exited !== null) throw new Error(`${input.name} exited with ${exited} while starting; see ${input.logFile}`);
    try {
      const response = await fetch(origin + input.readyPath, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (response.status === 200) return { name: input.name, child, pid: child.pid!, origin };
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  child.kill('SIGKILL');
  throw new Error(`${input.name} did not answer ${input.readyPath} within 60 s; see ${input.logFile}`);
}

/** SIGTERM, then SIGKILL after 10 s. */
export async function stopServer(server: Server): Promise<void> {
  const { child } = server;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Runs a command to completion (bounded by timeoutMs) and returns its output. */
export async function run(
  command: string,
  args: string[],
  options: { cwd: string; env: Record<string, string>; input?: string; timeoutMs?: number },
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (err += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${command} ${args.join(' ')} failed (${code}): ${err.trim() || out.trim()}`));
    });
    child.stdin.end(options.input ?? '');
  });
}
