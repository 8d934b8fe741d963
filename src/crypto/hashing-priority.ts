// Password hashing runs on libuv's thread pool: 15–20 ms of CPU per check. In a burst
// of sign-ins those threads take every core, and the event loop, which answers every
// other request, waits for its turn (at 2× overload its delay p99 passed 20 ms,
// bench/README.md). On Linux each thread has its own nice value: the pool's threads,
// found through /proc/thread-self (the thread that reads it), are set to nice 10, so
// the event loop comes first whenever both want a core and hashing still gets every
// cycle the event loop leaves. The pool also runs file-system work, which can wait too.
import { readlink } from 'node:fs/promises';
import { setPriority } from 'node:os';

const HASHING_NICE = 10;
/** Rounds of lookups before giving up on finding every thread (each round is fast). */
const MAX_ROUNDS = 50;

/** libuv's pool size: UV_THREADPOOL_SIZE, else 4. */
function threadPoolSize(): number {
  const size = Number(process.env.UV_THREADPOOL_SIZE);
  return Number.isInteger(size) && size > 0 ? Math.min(size, 1024) : 4;
}

/** Lowers the priority of libuv's pool threads; returns the thread ids it lowered
 * (none off Linux, or where the system refuses). */
export async function lowerHashingThreadPriority(): Promise<number[]> {
  if (process.platform !== 'linux') return [];
  const size = threadPoolSize();
  const found = new Set<number>();
  // Each readlink runs on whichever pool thread is free; asking twice as many at once
  // as there are threads, a few rounds reach all of them.
  for (let round = 0; round < MAX_ROUNDS && found.size < size; round += 1) {
    const links = await Promise.all(Array.from({ length: size * 2 }, () => readlink('/proc/thread-self').catch(() => null)));
    for (const link of links) {
      const threadId = Number(link?.split('/').pop());
      if (Number.isInteger(threadId) && threadId > 0 && threadId !== process.pid) found.add(threadId);
    }
  }
  const lowered: number[] = [];
  for (const threadId of found) {
    try {
      setPriority(threadId, HASHING_NICE);
      lowered.push(threadId);
    } catch {
      // A sandbox may refuse; hashing then competes as before.
    }
  }
  return lowered;
}
