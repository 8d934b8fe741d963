// Per-statement timing of node-postgres inside a server, for `--pg-statements`: loaded
// with `node --require` (pg_stat_statements needs shared_preload_libraries, so a
// restart of the server, which this bench does not do). Wraps Client#query: for each
// statement text, how many ran and how long each took from the call to its answer
// (the round trip, PostgreSQL's work, and any wait for the event loop). On SIGUSR2 the
// figures so far go to $BENCH_PG_STATEMENTS_FILE, with a sequence number, and start
// again from zero.
'use strict';
const { writeFileSync, renameSync } = require('node:fs');
const { createRequire } = require('node:module');
const { join } = require('node:path');

const file = process.env.BENCH_PG_STATEMENTS_FILE;
// The same pg as the server's: resolved from the working directory (the server's root).
const pg = createRequire(join(process.cwd(), 'package.json'))('pg');
let statements = new Map();
let sequence = 0;

const original = pg.Client.prototype.query;
pg.Client.prototype.query = function query(config, values, callback) {
  const text = typeof config === 'string' ? config : config && typeof config.text === 'string' ? config.text : null;
  const result = original.call(this, config, values, callback);
  if (text === null || !result || typeof result.then !== 'function') return result;
  const started = process.hrtime.bigint();
  const done = () => {
    const key = text.replace(/\s+/g, ' ').trim();
    let entry = statements.get(key);
    if (!entry) statements.set(key, (entry = { calls: 0, totalMs: 0, maxMs: 0 }));
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    entry.calls += 1;
    entry.totalMs += ms;
    if (ms > entry.maxMs) entry.maxMs = ms;
  };
  result.then(done, done);
  return result;
};

if (file) {
  process.on('SIGUSR2', () => {
    sequence += 1;
    const rows = [...statements].map(([text, entry]) => ({ text, ...entry })).sort((a, b) => b.totalMs - a.totalMs);
    writeFileSync(`${file}.tmp`, JSON.stringify({ sequence, statements: rows }));
    renameSync(`${file}.tmp`, file);
    statements = new Map();
  });
}
