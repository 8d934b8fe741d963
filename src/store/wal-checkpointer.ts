// Checkpoints SQLite's write-ahead log on a helper thread. SQLite's own automatic
// checkpoint runs inside whichever commit crosses 1,000 WAL pages, on the thread that
// committed: for us the event loop, stalled for the copy and two fsyncs (40–90 ms on a
// busy disk, bench/README.md, overload). Here a second connection on its own thread
// copies the log into the database every quarter second (PASSIVE: it never takes the
// write lock, so the server's writers never wait for it). The log restarts from the
// beginning at the first write after a pass that copied everything. Should writes
// never leave such a gap, the server's own connection still checkpoints once the log
// passes 64 MiB; by then the helper has copied nearly all of it, so that pass is
// short. Durability is unchanged: a checkpoint syncs the log before and the database
// after copying, whichever thread runs it.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** A pass every quarter second keeps the log short without busy work when idle. */
const CHECKPOINT_INTERVAL_IN_MILLISECONDS = 250;
/** The server's own automatic checkpoint while the helper runs: 64 MiB of 4 KiB pages. */
export const BACKSTOP_AUTOCHECKPOINT_PAGES = 16384;
/** SQLite's default, for the server's connection should the helper stop. */
export const FALLBACK_AUTOCHECKPOINT_PAGES = 1000;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driverPath);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('synchronous = NORMAL');
let closed = false;
function pass() {
  if (closed) return;
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    parentPort.postMessage({ error: String(error && error.message || error) });
  }
}
const timer = setInterval(pass, workerData.intervalInMilliseconds);
parentPort.on('message', (message) => {
  if (message !== 'close') return;
  clearInterval(timer);
  closed = true;
  db.close();
  parentPort.close();
});
`;

export interface WalCheckpointer {
  close(): Promise<void>;
}

/** Starts the helper thread for the database file at `path`. `onStopped` runs if the
 * thread dies, so the caller can hand checkpoints back to SQLite's automatic ones. */
export function startWalCheckpointer(path: string, onStopped: () => void): WalCheckpointer {
  const driverPath = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { path, driverPath, intervalInMilliseconds: CHECKPOINT_INTERVAL_IN_MILLISECONDS },
    // A few MiB of heap is all it needs; the default would reserve far more.
    resourceLimits: { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 1 },
    stdout: false,
    stderr: false,
  });
  // The helper never keeps the process alive on its own.
  worker.unref();
  let closing = false;
  worker.on('error', () => {});
  worker.on('exit', () => {
    if (!closing) onStopped();
  });
  return {
    async close() {
      if (closing) return;
      closing = true;
      // Keep the process alive until the helper has closed its connection.
      worker.ref();
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.postMessage('close');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise<void>((resolve) => (timer = setTimeout(resolve, 2000)))]);
      clearTimeout(timer);
      await worker.terminate();
    },
  };
}
