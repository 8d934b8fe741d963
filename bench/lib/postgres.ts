// PostgreSQL and Redis for `--store=postgres`: throwaway databases and key prefixes
// (created and dropped by the run), a bulk insert for seeding, and the CPU time of the
// PostgreSQL backends serving one database, read from /proc. pg and ioredis come from
// Tessera's own install (the repository root's node_modules), which the bench already
// needs to build and run Tessera.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Redis } from 'ioredis';

/** The local server, trust authentication (the bench's host). */
export const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** The bench's own connections say so, and the CPU probe leaves them out. */
export const BENCH_APPLICATION_NAME = 'tessera-bench';

/** USER_HZ: /proc counts CPU time in ticks of 1/100 s on Linux. */
const TICK_MS = 10;

let databaseCount = 0;

/** A unique name per run and per database: `<prefix>_bench_<pid>_<n>`. */
export function throwawayName(prefix: string): string {
  databaseCount += 1;
  return `${prefix}_bench_${process.pid}_${databaseCount}`;
}

export function databaseUrl(name: string, applicationName?: string): string {
  return `${POSTGRES_URL}/${name}${applicationName ? `?application_name=${applicationName}` : ''}`;
}

async function withAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl('postgres'), application_name: BENCH_APPLICATION_NAME });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

function assertThrowaway(name: string): void {
  // Never anything but what throwawayName made (the test suites share this server).
  if (!/^[a-z]+_bench_\d+_\d+$/.test(name)) throw new Error(`not a bench database name: ${name}`);
}

export async function createDatabase(name: string): Promise<void> {
  assertThrowaway(name);
  await withAdmin((client) => client.query(`create database "${name}"`));
}

export async function dropDatabase(name: string): Promise<void> {
  assertThrowaway(name);
  await withAdmin((client) => client.query(`drop database if exists "${name}" with (force)`));
}

/** Deletes every Redis key under `prefix` (the run's own). */
export async function dropRedisPrefix(prefix: string): Promise<number> {
  if (!/bench/.test(prefix)) throw new Error(`not a bench key prefix: ${prefix}`);
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) deleted += await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

export type Row = Record<string, unknown>;

/** Many rows of one table in one statement: PostgreSQL makes the records from one JSON
 * array (json_populate_recordset), so every column gets its own type without naming
 * it. Rows are whole copies of a table's row, so no column is left to its default. */
export async function insertRows(client: pg.ClientBase, table: string, rows: Row[]): Promise<void> {
  if (rows.length === 0) return;
  await client.query(`insert into "${table}" select * from json_populate_recordset(null::"${table}", $1::json)`, [JSON.stringify(rows)]);
}

/** The secondary (non-constraint) indexes of some tables, with the SQL that makes them. */
export async function secondaryIndexes(client: pg.ClientBase, tables: string[]): Promise<{ name: string; sql: string }[]> {
  const { rows } = await client.query<{ name: string; sql: string }>(
    `select i.indexname as name, i.indexdef as sql
       from pg_indexes i
      where i.schemaname = current_schema() and i.tablename = any($1)
        and not exists (select 1 from pg_constraint c where c.conname = i.indexname and c.connamespace = to_regnamespace(current_schema()))`,
    [tables],
  );
  return rows;
}

function processCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return null;
  }
}

/**
 * CPU time (utime + stime from /proc) of the PostgreSQL backends serving one
 * database's client connections, the bench's own left out. Sampled every 500 ms
 * while a workload runs, so a connection that closes in between loses at most its
 * last half second; one that opens during the window counts from its start.
 */
export class BackendCpu {
  private readonly client: pg.Client;
  private baseline = new Map<number, number>();
  private latest = new Map<number, number>();
  private timer: NodeJS.Timeout | null = null;
  private sampling: Promise<void> = Promise.resolve();

  private constructor(private readonly database: string) {
    this.client = new pg.Client({ connectionString: databaseUrl('postgres'), application_name: `${BENCH_APPLICATION_NAME}-probe` });
  }

  static async open(database: string): Promise<BackendCpu> {
    const probe = new BackendCpu(database);
    await probe.client.connect();
    return probe;
  }

  private async read(): Promise<Map<number, number>> {
    const { rows } = await this.client.query<{ pid: number }>(
      `select pid from pg_stat_activity
        where datname = $1 and backend_type = 'client backend' and coalesce(application_name, '') not like $2`,
      [this.database, `${BENCH_APPLICATION_NAME}%`],
    );
    const cpu = new Map<number, number>();
    for (const { pid } of rows) {
      const ms = processCpuMs(pid);
      if (ms !== null) cpu.set(pid, ms);
    }
    return cpu;
  }

  private sample(): void {
    this.sampling = this.sampling.then(async () => {
      for (const [pid, ms] of await this.read()) this.latest.set(pid, ms);
    });
  }

  async start(): Promise<void> {
    this.baseline = await this.read();
    this.latest = new Map(this.baseline);
    this.timer = setInterval(() => this.sample(), 500);
  }

  /** Milliseconds of backend CPU since start(), and how many backends served. */
  async stop(): Promise<{ ms: number; backends: number }> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sample();
    await this.sampling;
    let ms = 0;
    let backends = 0;
    for (const [pid, last] of this.latest) {
      const delta = last - (this.baseline.get(pid) ?? 0);
      ms += delta;
      if (delta > 0) backends += 1;
    }
    return { ms, backends };
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.sampling.catch(() => {});
    await this.client.end();
  }
}

/** One statement's figures from bench/lib/pg-statements.cjs, inside a server. */
export interface StatementTiming {
  text: string;
  calls: number;
  totalMs: number;
  maxMs: number;
}

/** The preload that times each statement in a server (`--pg-statements`). */
export const STATEMENT_TIMING_PRELOAD = fileURLToPath(new URL('./pg-statements.cjs', import.meta.url));

/** Asks a server running the preload for its figures since the last ask (SIGUSR2),
 * and waits up to 5 s for them. */
export async function collectStatements(pid: number, file: string): Promise<StatementTiming[] | null> {
  rmSync(file, { force: true });
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 50; i++) {
    await sleep(100);
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { statements: StatementTiming[] }).statements;
  }
  return null;
}
