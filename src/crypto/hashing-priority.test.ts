import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { lowerHashingThreadPriority } from './hashing-priority.js';
import { PasswordHasher } from './passwords.js';

/** A thread's nice value: field 19 of /proc/self/task/<id>/stat (after the command in parentheses). */
function niceOf(threadId: number): number {
  const stat = readFileSync(`/proc/self/task/${threadId}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

describe('hashing thread priority', { skip: process.platform === 'linux' ? false : 'Linux only: thread priorities are set per thread there' }, () => {
  it("lowers every thread of libuv's pool to nice 10, and never the event loop's thread", async () => {
    const mainBefore = niceOf(process.pid);
    const lowered = await lowerHashingThreadPriority();
    assert.equal(lowered.length, Number(process.env.UV_THREADPOOL_SIZE) || 4);
    assert.ok(!lowered.includes(process.pid));
    for (const threadId of lowered) assert.equal(niceOf(threadId), 10, `thread ${threadId}`);
    assert.equal(niceOf(process.pid), mainBefore);
  });

  it('hashing still works on the lowered threads', async () => {
    await lowerHashingThreadPriority();
    const hasher = new PasswordHasher();
    const stored = await hasher.hash('correct horse battery staple');
    assert.equal(await hasher.verify(stored, 'correct horse battery staple'), true);
    assert.equal(await hasher.verify(stored, 'wrong horse battery staple'), false);
  });
});
