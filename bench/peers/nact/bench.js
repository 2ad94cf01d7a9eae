// The nact peer of aether-bench: the same scenarios on nact (Node.js actors
// with persistence and snapshotEvery), with nact-persistence-postgres and
// with a minimal in-memory engine. One JSON object per line, fields named
// as aether-bench names them, plus "framework": "nact".
//
//   node bench.js --pg <connection string> [--quick]
'use strict';
const {
  start, stop, query, dispatch, spawnPersistent, configurePersistence
} = require('nact');
const { AbstractPersistenceEngine } = require('nact/lib/persistence');
const { PostgresPersistenceEngine } = require('nact-persistence-postgres');
const pgp = require('pg-promise')();

// -- a minimal in-memory engine (framework-only comparison) -----------------

class MemoryEngine extends AbstractPersistenceEngine {
  constructor () {
    super();
    this.journal = new Map();
    this.snapshots = new Map();
  }

  events (key, offset = 0) {
    // Events are stored contiguously from sequence number 1.
    const all = (this.journal.get(key) || []).slice(offset);
    return {
      reduce: (...args) => Promise.resolve(all.reduce(...args)),
      then: (...args) => Promise.resolve(all).then(...args)
    };
  }

  async persist (e) {
    if (!this.journal.has(e.key)) this.journal.set(e.key, []);
    this.journal.get(e.key).push(e);
  }

  async latestSnapshot (key) {
    const xs = this.snapshots.get(key);
    return xs ? xs[xs.length - 1] : undefined;
  }

  async takeSnapshot (s) {
    if (!this.snapshots.has(s.key)) this.snapshots.set(s.key, []);
    this.snapshots.get(s.key).push(s);
  }
}

// -- helpers ----------------------------------------------------------------

const now = () => Number(process.hrtime.bigint()) / 1e6; // ms
const median = xs => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
const spread = xs => Math.max(...xs) - Math.min(...xs);
const pct = (xs, q) => {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(q * (s.length - 1))];
};
const timeout = 600000;
let unique = 0;

// The counter actor: persists {type: 'add', n}, replies with the sum.
const counter = latencies => async (state = { sum: 0 }, msg, ctx) => {
  if (msg.type === 'add') {
    if (!ctx.recovering) {
      const t0 = now();
      await ctx.persist({ type: 'add', n: msg.n, note: 'benchmark payload' });
      latencies.push(now() - t0);
    }
    const next = { sum: state.sum + msg.n };
    if (!ctx.recovering) dispatch(ctx.sender, next.sum);
    return next;
  }
  if (msg.type === 'get') dispatch(ctx.sender, state.sum);
  return state;
};

async function persistOnce (engine, actors, perActor, snapshotEvery) {
  const system = start(configurePersistence(engine));
  const latencies = [];
  const run = ++unique;
  const hs = [];
  for (let i = 0; i < actors; ++i) {
    hs.push(spawnPersistent(system, counter(latencies),
      `persist-${process.pid}-${run}-${i}`, `a${i}`,
      snapshotEvery ? { snapshotEvery } : {}));
  }
  await Promise.all(hs.map(h => query(h, { type: 'get' }, timeout)));
  const t0 = now();
  // Every actor gets its commands at once (as aether-bench sends them); a
  // final query per actor, queued behind them, answers when all are stored.
  // (One query per command would not do: nact's temporary reply references
  // collide at tens of thousands of open queries and some never resolve.)
  for (let k = 0; k < perActor; ++k) {
    for (const h of hs) dispatch(h, { type: 'add', n: 1 });
  }
  const sums = await Promise.all(hs.map(h => query(h, { type: 'get' }, timeout)));
  const secs = (now() - t0) / 1000;
  if (sums.some(x => x !== perActor)) throw new Error('persist lost commands');
  stop(system);
  return { rate: (actors * perActor) / secs, latencies };
}

async function persist (engine, store, actors, events, repeat) {
  const perActor = Math.max(Math.floor(events / actors), 1);
  await persistOnce(engine, actors, perActor, 0); // warm-up
  const rates = [];
  let last;
  for (let r = 0; r < repeat; ++r) {
    last = await persistOnce(engine, actors, perActor, 0);
    rates.push(last.rate);
  }
  return {
    scenario: 'persist',
    framework: 'nact',
    store,
    actors,
    events: perActor * actors,
    snapshot_every: 0,
    repeat,
    events_per_s: median(rates),
    events_per_s_spread: spread(rates),
    latency_p50_ms: pct(last.latencies, 0.5),
    latency_p99_ms: pct(last.latencies, 0.99)
  };
}

// Writes a history of n events (and, for `withSnapshots`, a snapshot every
// `every` events, as snapshotEvery would have taken them) under `key`.
async function prepareHistory (engine, db, key, n, every, withSnapshots) {
  const t = Date.now();
  if (db) {
    await db.none(`INSERT INTO event_journal
      (persistence_key, sequence_nr, created_at, data, tags)
      SELECT $1, g, $2, jsonb_build_object('type', 'add', 'n', 1,
        'note', 'benchmark payload'), ARRAY[]::text[]
      FROM generate_series(1, $3) g`, [key, t, n]);
    if (withSnapshots) {
      await db.none(`INSERT INTO snapshot_store
        (persistence_key, sequence_nr, created_at, data)
        SELECT $1, g * $2, $3, jsonb_build_object('sum', g * $2)
        FROM generate_series(1, $4) g`, [key, every, t, Math.floor(n / every)]);
    }
    return;
  }
  const { PersistedEvent, PersistedSnapshot } = require('nact/lib/persistence');
  for (let v = 1; v <= n; ++v) {
    await engine.persist(new PersistedEvent(
      { type: 'add', n: 1, note: 'benchmark payload' }, v, key, [], t));
    if (withSnapshots && v % every === 0) {
      await engine.takeSnapshot(new PersistedSnapshot({ sum: v }, v, key, t));
    }
  }
}

async function timeRecovery (engine, key, snapshotEvery) {
  const system = start(configurePersistence(engine));
  const t0 = now();
  const h = spawnPersistent(system, counter([]), key, 'r',
    snapshotEvery ? { snapshotEvery } : {});
  const sum = await query(h, { type: 'get' }, timeout);
  const ms = now() - t0;
  stop(system);
  return { ms, sum };
}

async function recovery (engine, db, store, n, every, repeat) {
  const run = ++unique;
  const withKey = `rec-${process.pid}-${run}-snap`;
  const fullKey = `rec-${process.pid}-${run}-full`;
  await prepareHistory(engine, db, withKey, n, every, true);
  await prepareHistory(engine, db, fullKey, n, every, false);
  await timeRecovery(engine, withKey, every); // warm-up
  const rec = [];
  const full = [];
  for (let r = 0; r < repeat; ++r) {
    const a = await timeRecovery(engine, withKey, every);
    const b = await timeRecovery(engine, fullKey, 0);
    if (a.sum !== n || b.sum !== n) throw new Error('recovered the wrong state');
    rec.push(a.ms);
    full.push(b.ms);
  }
  return {
    scenario: 'recovery',
    framework: 'nact',
    store,
    events: n,
    snapshot_every: every,
    repeat,
    recovery_ms: median(rec),
    recovery_ms_spread: spread(rec),
    full_replay_ms: median(full),
    full_replay_ms_spread: spread(full),
    speedup: median(full) / Math.max(median(rec), 1e-6)
  };
}

// A node's cold start: `actors` actors with `n` events each and a snapshot
// every `every`, spawned at once; against the engine's own read of the same
// data (each key's latest snapshot and the events after it), 16 at a time
// (aether's I/O workers).
async function massRecovery (engine, db, store, actors, n, every) {
  const run = ++unique;
  const key = i => `mass-${process.pid}-${run}-${i}`;
  const t = Date.now();
  const fill0 = now();
  if (db) {
    await db.none(`INSERT INTO event_journal
      (persistence_key, sequence_nr, created_at, data, tags)
      SELECT $1 || k, g, $2, jsonb_build_object('type', 'add', 'n', 1,
        'note', 'benchmark payload'), ARRAY[]::text[]
      FROM generate_series(0, $3 - 1) k, generate_series(1, $4) g`,
    [key(''), t, actors, n]);
    await db.none(`INSERT INTO snapshot_store
      (persistence_key, sequence_nr, created_at, data)
      SELECT $1 || k, g * $2, $3, jsonb_build_object('sum', g * $2)
      FROM generate_series(0, $4 - 1) k, generate_series(1, $5) g`,
    [key(''), every, t, actors, Math.floor(n / every)]);
  } else {
    // One history shared by every key (the engine never looks at an
    // event's key when it replays), so 10^7 events fit in Node's heap.
    const { PersistedEvent, PersistedSnapshot } = require('nact/lib/persistence');
    const history = [];
    for (let v = 1; v <= n; ++v) {
      history.push(new PersistedEvent(
        { type: 'add', n: 1, note: 'benchmark payload' }, v, 'shared', [], t));
    }
    for (let i = 0; i < actors; ++i) {
      engine.journal.set(key(i), history);
      const snaps = [];
      for (let v = every; v <= n; v += every) {
        snaps.push(new PersistedSnapshot({ sum: v }, v, key(i), t));
      }
      engine.snapshots.set(key(i), snaps);
    }
  }
  const fillMs = now() - fill0;
  const rawRead = async () => {
    const t0 = now();
    let next = 0;
    let wrong = 0;
    const worker = async () => {
      for (let i = next++; i < actors; i = next++) {
        const snap = await engine.latestSnapshot(key(i));
        const from = snap ? snap.sequenceNumber : 0;
        const count = await engine.events(key(i), from)
          .reduce((c, e) => c + 1, 0);
        if (from + count !== n) ++wrong;
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    if (wrong) throw new Error(`raw read: ${wrong} keys without their history`);
    return now() - t0;
  };
  await rawRead(); // warm-up
  const rawMs = await rawRead();
  const system = start(configurePersistence(engine));
  const t0 = now();
  const hs = [];
  for (let i = 0; i < actors; ++i) {
    hs.push(spawnPersistent(system, counter([]), key(i), `m${i}`,
      { snapshotEvery: every }));
  }
  const sums = await Promise.all(hs.map(h => query(h, { type: 'get' }, timeout)));
  const ms = now() - t0;
  stop(system);
  if (sums.some(x => x !== n)) throw new Error('mass recovery: wrong state');
  return {
    scenario: 'mass-recovery',
    framework: 'nact',
    store,
    actors,
    events_per_actor: n,
    snapshot_every: every,
    fill_ms: fillMs,
    recovery_ms: ms,
    actors_per_s: actors / (ms / 1000),
    raw_read_ms: rawMs,
    ratio_to_raw: rawMs / ms
  };
}

async function main () {
  const args = process.argv.slice(2);
  const pgUrl = args[args.indexOf('--pg') + 1];
  const quick = args.includes('--quick');
  if (!args.includes('--pg') || !pgUrl) {
    console.error('usage: node bench.js --pg <connection string> [--quick]');
    process.exit(2);
  }
  const db = pgp(pgUrl);
  const postgres = new PostgresPersistenceEngine(db);
  await postgres.db; // tables created
  const engines = [['postgres', postgres, db], ['memory', null, null]];
  const print = o => console.log(JSON.stringify(o));
  for (const [store, pg, conn] of engines) {
    const fresh = () => pg || new MemoryEngine();
    for (const actors of [1, 100]) {
      let events = store === 'memory' ? 100000 : 20000;
      if (quick) events = 1000;
      print(await persist(fresh(), store, actors, events, quick ? 1 : 3));
    }
    const sizes = quick ? [1000] : [1000, 10000, 100000];
    for (const n of sizes) {
      print(await recovery(fresh(), conn, store, n, 1000, quick ? 1 : 3));
    }
    print(await massRecovery(fresh(), conn, store, quick ? 100 : 10000,
      quick ? 100 : 1000, 100));
  }
  await db.$pool.end();
}

main().catch(e => {
  console.error('nact bench:', e);
  process.exit(1);
});
