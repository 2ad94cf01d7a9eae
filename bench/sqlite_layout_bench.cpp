// aether-bench sqlite-layout: plain SQLite, no aether: the same rows as a
// persist run of A actors (interleaved, as they commit together) written in
// the events table's layout of schema version 2 (keyed by actor and
// version) and of version 3 (keyed by position, indexed by actor and
// version), then every actor's events read back in version order. It is the
// raw limit that explains the store's figures for many actors.
#include "aether/persistence/json_codec.hpp"
#include "harness.hpp"

#include <sqlite3.h>

namespace aether::bench {

namespace {

struct layout_options {
  std::string sync = "full";
  int64_t actors = 100;
  int64_t rows = 200000;
  int64_t rows_per_txn = 100;
  int64_t repeat = 3;
};

struct layout {
  const char* name;
  const char* create;
};

// The events table and its index as each schema version creates them.
const layout layouts[] = {
  {"by_actor (schema 2)",
   "CREATE TABLE events (actor_id TEXT NOT NULL, version INTEGER NOT NULL, "
   "body BLOB NOT NULL, position INTEGER, PRIMARY KEY (actor_id, version)) "
   "WITHOUT ROWID; CREATE UNIQUE INDEX events_by_position ON events "
   "(position)"},
  {"by_position (schema 3)",
   "CREATE TABLE events (position INTEGER PRIMARY KEY, actor_id TEXT NOT "
   "NULL, version INTEGER NOT NULL, body BLOB NOT NULL); CREATE UNIQUE INDEX "
   "events_by_actor ON events (actor_id, version)"},
};

void exec(sqlite3* db, const std::string& sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string what = msg ? msg : "unknown error";
    sqlite3_free(msg);
    throw std::runtime_error("sqlite-layout: " + sql + ": " + what);
  }
}

/// Rows written per second and rows read per second (every actor's events
/// in version order) of one layout.
std::pair<double, double> run_layout(const layout& l, const std::string& path,
                                     const layout_options& o,
                                     const std::vector<std::string>& ids,
                                     const std::vector<std::string>& bodies) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK)
    throw std::runtime_error("sqlite-layout: cannot open " + path);
  exec(db, "PRAGMA journal_mode=WAL");
  exec(db, o.sync == "full" ? "PRAGMA synchronous=FULL"
                            : "PRAGMA synchronous=NORMAL");
  exec(db, l.create);
  sqlite3_stmt* ins = nullptr;
  sqlite3_prepare_v2(db,
                     "INSERT INTO events (actor_id, version, body, position) "
                     "VALUES (?1, ?2, ?3, ?4)",
                     -1, &ins, nullptr);
  auto actors = static_cast<int64_t>(ids.size());
  auto t0 = clock_type::now();
  for (int64_t i = 0; i < o.rows; ++i) {
    if (i % o.rows_per_txn == 0)
      exec(db, "BEGIN IMMEDIATE");
    auto& id = ids[static_cast<size_t>(i % actors)];
    auto& body = bodies[static_cast<size_t>(i % actors)];
    sqlite3_bind_text(ins, 1, id.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 2, i / actors + 1);
    sqlite3_bind_blob(ins, 3, body.data(), static_cast<int>(body.size()),
                      SQLITE_STATIC);
    sqlite3_bind_int64(ins, 4, i + 1);
    if (sqlite3_step(ins) != SQLITE_DONE)
      throw std::runtime_error("sqlite-layout: insert failed");
    sqlite3_reset(ins);
    if ((i + 1) % o.rows_per_txn == 0 || i + 1 == o.rows)
      exec(db, "COMMIT");
  }
  auto write = static_cast<double>(o.rows) / (ms_since(t0) / 1000);
  sqlite3_finalize(ins);
  sqlite3_stmt* rd = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT version, body FROM events WHERE actor_id = ?1 "
                     "AND version >= 1 ORDER BY version",
                     -1, &rd, nullptr);
  int64_t read = 0;
  size_t bytes = 0;
  auto t1 = clock_type::now();
  for (auto& id : ids) {
    sqlite3_bind_text(rd, 1, id.c_str(), -1, SQLITE_STATIC);
    while (sqlite3_step(rd) == SQLITE_ROW) {
      ++read;
      bytes += static_cast<size_t>(sqlite3_column_bytes(rd, 1));
    }
    sqlite3_reset(rd);
  }
  auto read_rate = static_cast<double>(read) / (ms_since(t1) / 1000);
  sqlite3_finalize(rd);
  sqlite3_close(db);
  if (read != o.rows || bytes == 0)
    throw std::runtime_error("sqlite-layout: read back " + std::to_string(read)
                             + " of " + std::to_string(o.rows) + " rows");
  return {write, read_rate};
}

int run_sqlite_layout(caf::actor_system&, const layout_options& o) {
  temp_folder tmp;
  std::vector<std::string> ids, bodies;
  for (int64_t a = 0; a < o.actors; ++a) {
    ids.push_back("actor-" + std::to_string(a));
    bodies.push_back(json_codec::encode(bench_event(ids.back(), 1)));
  }
  std::vector<double> write[2], read[2];
  // Alternate, so that the disk's drift hits both layouts alike.
  for (int64_t i = 0; i < o.repeat; ++i)
    for (size_t l = 0; l < 2; ++l) {
      auto path
        = tmp.path
          / ("layout-" + std::to_string(l) + "-" + std::to_string(i) + ".db");
      auto [w, r] = run_layout(layouts[l], path.string(), o, ids, bodies);
      write[l].push_back(w);
      read[l].push_back(r);
      for (auto suffix : {"", "-wal", "-shm"})
        std::filesystem::remove(path.string() + suffix);
    }
  for (size_t l = 0; l < 2; ++l)
    emit(boost::json::object{
      {"scenario", "sqlite-layout"},
      {"layout", layouts[l].name},
      {"sync", o.sync},
      {"actors", o.actors},
      {"rows", o.rows},
      {"rows_per_txn", o.rows_per_txn},
      {"repeat", o.repeat},
      {"write_rows_per_s", median(write[l])},
      {"write_rows_per_s_spread", spread(write[l])},
      {"read_rows_per_s", median(read[l])},
      {"read_rows_per_s_spread", spread(read[l])},
    });
  return 0;
}

} // namespace

void add_sqlite_layout(CLI::App& app, runner& chosen) {
  auto o = std::make_shared<layout_options>();
  auto* sub = add_scenario(app, chosen, "sqlite-layout",
                           "plain SQLite: A actors' rows in the events table "
                           "of schema 2 and of schema 3, written and read",
                           o, run_sqlite_layout);
  sub->add_option("--sync", o->sync, "synchronous=FULL or NORMAL")
    ->check(CLI::IsMember({"full", "normal"}))
    ->capture_default_str();
  add_number(*sub, "--actors", o->actors, "actors (rows interleaved)");
  add_number(*sub, "--rows", o->rows, "rows in all");
  add_number(*sub, "--rows-per-txn", o->rows_per_txn, "rows per transaction");
  add_number(*sub, "--repeat", o->repeat, "runs (the median is reported)");
}

} // namespace aether::bench
