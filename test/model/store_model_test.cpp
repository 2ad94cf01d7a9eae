// Model-based test (issue 12): random sequences of what persistent actors
// do to a store, run against memory, SQLite and JetStream and compared with
// a reference model after every step. Invariants: the latest version never
// lowers, nothing acknowledged is missing, no version is stored twice, every
// read returns exactly the model's events, recovery (snapshot + replay, the
// actor's algorithm) and capture_state give the fold of the model's history
// or fail exactly when the model says the history is gone.
//
// The number of sequences comes from RapidCheck's RC_PARAMS (CTest sets a
// bounded run; see docs/reliability.md for a longer one). A failure prints
// the shrunk sequence of operations and the seed to reproduce it.
#include "aether/core/error.hpp"
#include "aether/jetstream/jetstream_store.hpp"
#include "aether/persistence/memory_store.hpp"
#include "aether/snapshot/capture.hpp"
#include "aether/snapshot/recovery.hpp"
#include "aether/sqlite/sqlite_store.hpp"
#include "catch.hpp"
#include "eventually.hpp"
#include "nats_server.hpp"
#include "tally.hpp"
#include "temp_dir.hpp"

#include <algorithm>
#include <map>
#include <rapidcheck.h>
#include <rapidcheck/catch.h>
#include <set>
#include <sqlite3.h>

using namespace aether;
using namespace aether::test;

namespace {

const std::string actor = "model-1";

// -- operations
// -----------------------------------------------------------------

enum class kind {
  persist,        // persist / persist_all of 1-5 events (either writer)
  stale_write,    // a writer behind the store: must get version_conflict
  snapshot,       // save a snapshot of the fold at some version
  retention,      // keep the newest K snapshots, with or without events
  delete_to,      // delete_events_to(v)
  read,           // a read with random bounds, count and position hint
  recover,        // what an actor does on spawn, with a random batch size
  capture,        // capture_state at a random version
  corrupt_latest, // overwrite the newest snapshot with garbage
  restart,        // reopen (SQLite) / kill -9 and restart the server
};

struct op {
  kind k = kind::persist;
  int count = 1;           // events of a persist, K of a retention
  std::vector<int64_t> ns; // the numbers a persist stores (5, count used)
  int64_t a = 0;           // a version / offset, taken modulo the history
  int64_t b = 0;           // a second one
  size_t max = 1;          // max_count or batch size
  int hint = 0;            // position hints: 0 right, 1 none, 2 wrong
  bool flag = false;       // second writer / delete events too
};

const char* name_of(kind k) {
  switch (k) {
    case kind::persist: return "persist";
    case kind::stale_write: return "stale_write";
    case kind::snapshot: return "snapshot";
    case kind::retention: return "retention";
    case kind::delete_to: return "delete_to";
    case kind::read: return "read";
    case kind::recover: return "recover";
    case kind::capture: return "capture";
    case kind::corrupt_latest: return "corrupt_latest";
    case kind::restart: return "restart";
  }
  return "?";
}

} // namespace

namespace rc {

template <>
struct Arbitrary<op> {
  static Gen<op> arbitrary() {
    return gen::build<op>(
      gen::set(&op::k, gen::weightedElement<kind>({{8, kind::persist},
                                                   {2, kind::stale_write},
                                                   {3, kind::snapshot},
                                                   {2, kind::retention},
                                                   {2, kind::delete_to},
                                                   {3, kind::read},
                                                   {3, kind::recover},
                                                   {2, kind::capture},
                                                   {1, kind::corrupt_latest},
                                                   {1, kind::restart}})),
      gen::set(&op::count, gen::inRange(1, 6)),
      gen::set(&op::ns, gen::container<std::vector<int64_t>>(
                          5, gen::inRange<int64_t>(-50, 51))),
      gen::set(&op::a, gen::inRange<int64_t>(0, 1000)),
      gen::set(&op::b, gen::inRange<int64_t>(0, 1000)),
      gen::set(&op::max, gen::inRange<size_t>(1, 9)),
      gen::set(&op::hint, gen::inRange(0, 3)),
      gen::set(&op::flag, gen::arbitrary<bool>()));
  }
};

} // namespace rc

namespace {

void showValue(const op& x, std::ostream& os) {
  os << name_of(x.k) << "(count=" << x.count << " a=" << x.a << " b=" << x.b
     << " max=" << x.max << " hint=" << x.hint << " flag=" << x.flag << ")";
}

// -- the reference model
// ---------------------------------------------------------

struct model {
  std::vector<int64_t> ns;         // ns[v - 1]: the number of version v
  std::vector<uint64_t> msg_pos;   // the position of version v's message
  std::vector<uint64_t> prev_pos;  // the position of the message before it
  std::vector<bool> batch_end;     // v is the last event of its message
  std::vector<int64_t> batch_last; // the last version of v's batch
  int64_t deleted_to = 0;          // delete_events_to reached this version
  bool whole_batches = false;      // the store deletes whole batches only
  std::map<int64_t, bool> snaps;   // snapshot version -> decodes
  /// Snapshots that decode and were deleted (retention), and those of them
  /// that may be back: a kill of nats-server 2.9.10 soon after a deletion
  /// may undo it, for snapshot messages as for events (see maybe_from).
  std::set<int64_t> deleted_snaps;
  std::set<int64_t> maybe_snaps;

  int64_t latest() const {
    return static_cast<int64_t>(ns.size());
  }

  /// Whether version v is still stored. Deleting is by event, or (JetStream,
  /// which stores a batch as one message) by whole batch: a batch that
  /// straddles the bound stays.
  bool present(int64_t v) const {
    auto end = whole_batches ? batch_last[static_cast<size_t>(v - 1)] : v;
    return end > deleted_to;
  }

  int64_t first_present() const {
    return first_after(deleted_to);
  }

  /// The first version a delete_events_to(bound) leaves.
  int64_t first_after(int64_t bound) const {
    int64_t v = 1;
    while (v <= latest()
           && (whole_batches ? batch_last[static_cast<size_t>(v - 1)] : v)
                <= bound)
      ++v;
    return v;
  }

  /// nats-server 2.9.10 may undo message deletions when it is killed
  /// (kill -9) soon after: deleted events can come back after a restart.
  /// Versions from `maybe_from` up to first_present() may or may not be
  /// stored then; what is stored is always a suffix of the history.
  int64_t maybe_from = 1;

  bool certain() const {
    return maybe_from >= first_present();
  }

  tally fold(int64_t v) const {
    tally t;
    for (int64_t i = 1; i <= v; ++i) {
      event e;
      e.data = boost::json::object{{"n", ns[static_cast<size_t>(i - 1)]}};
      t.apply(e);
    }
    return t;
  }

  /// The newest snapshot at or below `v` that decodes (0: none).
  int64_t best_snapshot(int64_t v) const {
    int64_t best = 0;
    for (auto& [version, ok] : snaps)
      if (ok && version <= v)
        best = version;
    return best;
  }

  /// Recovery up to `v` works iff what it needs is still there: the events
  /// after the newest usable snapshot (deletions only ever remove a prefix).
  bool recoverable(int64_t v) const {
    auto best = best_snapshot(v);
    return v == 0 || best == v || best + 1 >= first_present();
  }
};

event make(int64_t version, int64_t n) {
  return make_event("added", actor, version, boost::json::object{{"n", n}});
}

// -- backends
// ---------------------------------------------------------------------

struct backend {
  virtual ~backend() = default;
  /// True if the store deletes whole batches only.
  virtual bool whole_batches() const {
    return false;
  }
  virtual event_store_with_snapshots& store() = 0;
  virtual event_store_with_snapshots& other_store() = 0;
  virtual void corrupt_snapshot(int64_t version) = 0;
  /// Restarts; true if deletions may come undone by it.
  virtual bool restart() = 0;
};

struct memory_backend : backend {
  std::shared_ptr<memory_store> s = std::make_shared<memory_store>();
  event_store_with_snapshots& store() override {
    return *s;
  }
  event_store_with_snapshots& other_store() override {
    return *s;
  }
  void corrupt_snapshot(int64_t version) override {
    s->corrupt_snapshot_for_testing(actor, version, "{garbage");
  }
  bool restart() override {
    // nothing to restart: a memory store lives as long as its process
    return false;
  }
};

std::unique_ptr<sqlite_store> open_sqlite(const std::string& path) {
  auto s = sqlite_store::open(path);
  RC_ASSERT(bool(s));
  return std::move(*s);
}

struct sqlite_backend : backend {
  temp_dir dir;
  std::string path = dir.file("model.db");
  std::unique_ptr<sqlite_store> first = open_sqlite(path);
  std::unique_ptr<sqlite_store> second = open_sqlite(path);
  event_store_with_snapshots& store() override {
    return *first;
  }
  event_store_with_snapshots& other_store() override {
    return *second;
  }
  void corrupt_snapshot(int64_t version) override {
    sqlite3* db = nullptr;
    RC_ASSERT(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    RC_ASSERT(sqlite3_prepare_v2(db,
                                 "UPDATE snapshots SET body = '{garbage' "
                                 "WHERE actor_id = ?1 AND version = ?2",
                                 -1, &stmt, nullptr)
              == SQLITE_OK);
    sqlite3_bind_text(stmt, 1, actor.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, version);
    auto rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    RC_ASSERT(rc == SQLITE_DONE);
  }
  bool restart() override {
    first.reset();
    first = open_sqlite(path);
    return false;
  }
};

nats_server& server() {
  static nats_server instance;
  return instance;
}

std::shared_ptr<nats_connection> connect_nats() {
  nats_options o;
  o.servers = {server().url()};
  o.connect_timeout = std::chrono::milliseconds{2000};
  auto c = nats_connection::connect(o);
  RC_ASSERT(bool(c));
  return *c;
}

std::unique_ptr<jetstream_store> open_js(std::shared_ptr<nats_connection> c,
                                         const std::string& ns) {
  jetstream_store::options o;
  o.ns = ns;
  o.timeout = std::chrono::milliseconds{3000};
  auto s = jetstream_store::open(std::move(c), o);
  RC_ASSERT(bool(s));
  return std::move(*s);
}

std::string fresh_ns() {
  static int n = 0;
  return "m" + std::to_string(::getpid()) + "-" + std::to_string(++n);
}

struct jetstream_backend : backend {
  bool whole_batches() const override {
    return true;
  }
  std::string ns = fresh_ns();
  std::shared_ptr<nats_connection> conn = connect_nats();
  std::unique_ptr<jetstream_store> first = open_js(conn, ns);
  std::unique_ptr<jetstream_store> second = open_js(connect_nats(), ns);
  event_store_with_snapshots& store() override {
    return *first;
  }
  event_store_with_snapshots& other_store() override {
    return *second;
  }
  void corrupt_snapshot(int64_t version) override {
    // A newer message on the snapshot subject with the same version: the
    // store reads the last message of the subject as the newest snapshot.
    jetstream js{conn, std::chrono::seconds{5}};
    jetstream_message m{first->snapshot_subject(actor), "{garbage"};
    m.set_header("Aether-Version", std::to_string(version));
    m.set_header("Aether-Time", "0");
    RC_ASSERT(static_cast<bool>(js.publish(m)));
  }
  bool restart() override {
    server().restart();
    // Writes after a restart succeed once the connections are back.
    RC_ASSERT(eventually([&] {
      return conn->connected()
             && static_cast<bool>(first->get_latest_version(actor))
             && static_cast<bool>(second->get_latest_version(actor));
    }));
    return true;
  }
};

// -- one sequence
// -------------------------------------------------------------------

std::vector<int64_t> versions(const std::vector<event>& xs) {
  std::vector<int64_t> out;
  for (auto& x : xs)
    out.push_back(x.version);
  return out;
}

/// The events of the model in [from, to], at most `max`, if the stored
/// history starts at `p` (default: where the model says).
std::vector<int64_t> expected_range(const model& m, int64_t from, int64_t to,
                                    size_t max, int64_t p = 0) {
  if (p == 0)
    p = m.first_present();
  std::vector<int64_t> out;
  for (int64_t v = std::max<int64_t>({from, 1, p});
       v <= std::min(to, m.latest()) && out.size() < max; ++v)
    out.push_back(v);
  return out;
}

/// A read agrees with the model: exactly its events, or (after a server
/// restart undid deletions) those of a history starting earlier.
bool agrees(const model& m, const std::vector<int64_t>& got, int64_t from,
            int64_t to, size_t max) {
  for (auto p = std::min(m.maybe_from, m.first_present());
       p <= m.first_present(); ++p)
    if (got == expected_range(m, from, to, max, p))
      return true;
  return false;
}

uint64_t hinted_position(const model& m, int64_t v, int hint, int64_t wrong) {
  if (v <= 0 || hint == 1)
    return 0;
  if (hint == 2)
    return static_cast<uint64_t>(wrong) + 1;
  auto i = static_cast<size_t>(v - 1);
  // The position a snapshot at v records: its message's if v ends it, else
  // the message before (the part of v's message after v is still needed).
  return m.batch_end[i] ? m.msg_pos[i] : m.prev_pos[i];
}

void check_invariants(backend& b, const model& m) {
  auto latest = b.store().get_latest_version(actor);
  RC_ASSERT(bool(latest));
  RC_ASSERT(*latest == m.latest()); // never lowers, never ahead
  auto all = b.store().get_events(actor, 1);
  if (!all)
    RC_FAIL("full read: " + describe(all.error()));
  // Nothing acknowledged is missing, nothing twice, nothing unknown.
  RC_ASSERT(agrees(m, versions(*all), 1, m.latest(), SIZE_MAX));
  for (auto& e : *all)
    RC_ASSERT(e.data.at("n").as_int64()
              == m.ns[static_cast<size_t>(e.version - 1)]);
}

void run_op(backend& b, model& m, const op& x) {
  auto& s = b.store();
  auto latest = m.latest();
  switch (x.k) {
    case kind::persist: {
      std::vector<event> batch;
      for (int i = 0; i < x.count; ++i)
        batch.push_back(make(latest + 1 + i, x.ns[static_cast<size_t>(i)]));
      auto& writer = x.flag ? b.other_store() : s;
      auto res = writer.save_events(batch);
      RC_ASSERT(bool(res));
      RC_ASSERT(res->version == latest + x.count);
      auto prev = latest > 0 ? m.msg_pos.back() : uint64_t{0};
      for (int i = 0; i < x.count; ++i) {
        m.ns.push_back(x.ns[static_cast<size_t>(i)]);
        m.msg_pos.push_back(res->position);
        m.prev_pos.push_back(prev);
        m.batch_end.push_back(i + 1 == x.count);
        m.batch_last.push_back(latest + x.count);
      }
      break;
    }
    case kind::stale_write: {
      if (latest == 0)
        break;
      auto v = 1 + x.a % latest;
      auto& writer = x.flag ? b.other_store() : s;
      auto res = writer.save_events({make(v, 999)});
      RC_ASSERT(!res);
      RC_ASSERT(is(res.error(), persistence_error::version_conflict));
      break;
    }
    case kind::snapshot: {
      if (latest == 0)
        break;
      auto v = latest - x.a % std::min<int64_t>(latest, 3);
      auto snap = create_snapshot(actor, v, m.fold(v));
      snap.store_position = hinted_position(m, v, x.hint, x.b);
      RC_ASSERT(!s.save_snapshot(snap));
      m.snaps[v] = true;
      break;
    }
    case kind::retention: {
      // The actor's retention: the K newest snapshots stay (an undecodable
      // one counts), older ones go; with `flag`, the events up to the
      // oldest kept one too.
      if (m.snaps.empty())
        break;
      auto k = static_cast<size_t>(x.count % 3 + 1);
      std::vector<int64_t> vs;
      for (auto it = m.snaps.rbegin(); it != m.snaps.rend(); ++it)
        vs.push_back(it->first);
      auto oldest_kept = vs[std::min(k, vs.size()) - 1];
      snapshot_criteria c;
      c.max_version = oldest_kept - 1;
      if (c.max_version > 0) {
        auto n = s.delete_snapshots(actor, c);
        RC_ASSERT(bool(n));
        for (auto it = m.snaps.begin(); it != m.snaps.lower_bound(oldest_kept);
             ++it)
          if (it->second)
            m.deleted_snaps.insert(it->first);
        m.snaps.erase(m.snaps.begin(), m.snaps.lower_bound(oldest_kept));
      }
      if (x.flag) {
        RC_ASSERT(!s.delete_events_to(actor, oldest_kept));
        m.deleted_to = std::max(m.deleted_to, oldest_kept);
        m.maybe_from = std::max(m.maybe_from, m.first_after(oldest_kept));
      }
      break;
    }
    case kind::delete_to: {
      auto v = x.a % (latest + 3);
      RC_ASSERT(!s.delete_events_to(actor, v));
      m.deleted_to = std::max(m.deleted_to, std::min(v, latest));
      m.maybe_from = std::max(m.maybe_from, m.first_after(v));
      break;
    }
    case kind::read: {
      auto from = x.a % (latest + 2);
      auto to = from + x.b % (latest + 2);
      event_range r;
      r.from_version = from;
      r.to_version = to;
      r.max_count = x.max;
      r.after_position = hinted_position(m, std::min(from - 1, latest), x.hint,
                                         x.b);
      auto res = s.get_events_with_errors(actor, r);
      RC_ASSERT(bool(res));
      RC_ASSERT(res->errors.empty());
      RC_ASSERT(agrees(m, versions(res->events), from, to, x.max));
      break;
    }
    case kind::recover:
    case kind::capture: {
      // recover: what an actor does on spawn (up to the latest version);
      // capture: capture_state at a random version.
      auto up_to = x.k == kind::recover
                     ? latest
                     : (latest == 0 ? 0 : x.a % (latest + 1));
      auto got = capture_state<tally>(
        s, actor,
        x.k == kind::recover ? std::numeric_limits<int64_t>::max() : up_to,
        x.max);
      if (m.recoverable(up_to) || (!m.certain() && got)) {
        // (Events that came back after a restart may make a history
        // recoverable that the model counts as gone: then it must be right.)
        if (!got)
          RC_FAIL("recovery failed: " + describe(got.error()));
        RC_ASSERT(got->version == up_to);
        RC_ASSERT(got->state == m.fold(up_to));
      } else if (got && got->snapshot_version
                 && m.maybe_snaps.count(*got->snapshot_version) > 0) {
        // A deleted snapshot came back after a kill: recovering from it
        // must still be right.
        RC_ASSERT(got->version == up_to);
        RC_ASSERT(got->state == m.fold(up_to));
      } else {
        RC_ASSERT(!got);
        RC_ASSERT(is(got.error(), persistence_error::corrupt_data));
      }
      break;
    }
    case kind::corrupt_latest: {
      if (m.snaps.empty())
        break;
      auto v = m.snaps.rbegin()->first;
      b.corrupt_snapshot(v);
      m.snaps[v] = false;
      break;
    }
    case kind::restart:
      if (b.restart()) {
        // Deletions may come undone.
        m.maybe_from = 1;
        m.maybe_snaps.insert(m.deleted_snaps.begin(), m.deleted_snaps.end());
      }
      break;
  }
}

template <class Backend>
void run_sequence(const std::vector<op>& ops) {
  // The distribution of sequence lengths is printed after a passing run.
  RC_TAG(ops.size() < 10   ? "ops < 10"
         : ops.size() < 30 ? "ops 10-29"
                           : "ops >= 30");
  Backend b;
  model m;
  m.whole_batches = b.whole_batches();
  for (auto& x : ops) {
    RC_LOG() << name_of(x.k) << " ";
    run_op(b, m, x);
    check_invariants(b, m);
  }
}

} // namespace

TEST_CASE("model: memory store") {
  rc::prop("every sequence agrees with the model",
           [](const std::vector<op>& ops) {
             run_sequence<memory_backend>(ops);
           });
}

TEST_CASE("model: SQLite store") {
  rc::prop("every sequence agrees with the model",
           [](const std::vector<op>& ops) {
             run_sequence<sqlite_backend>(ops);
           });
}

TEST_CASE("model: JetStream store", "[nats]") {
  rc::prop("every sequence agrees with the model",
           [](const std::vector<op>& ops) {
             run_sequence<jetstream_backend>(ops);
           });
}
