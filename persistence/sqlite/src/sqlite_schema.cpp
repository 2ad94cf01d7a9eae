#include "sqlite_schema.hpp"

#include "aether/persistence/json_codec.hpp"

#include <string>
#include <vector>

namespace aether::detail {

namespace {

// Version 3's events table is keyed by position: appends go to its end, so
// a commit of many actors' events writes a few pages instead of one leaf
// per actor (and its splits) as version 1 and 2's table keyed by (actor id,
// version) did. The unique index by (actor id, version) serves recovery.
constexpr const char* events_v3_sql = R"sql(
CREATE TABLE IF NOT EXISTS events (
  position INTEGER PRIMARY KEY,
  actor_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  body BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS events_by_actor ON events (actor_id, version);
)sql";

// The tables every version has, apart from the events.
constexpr const char* create_sql = R"sql(
CREATE TABLE IF NOT EXISTS actors (
  actor_id TEXT PRIMARY KEY,
  latest INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS snapshots (
  actor_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  time_ns INTEGER NOT NULL,
  body BLOB NOT NULL,
  PRIMARY KEY (actor_id, version)
) WITHOUT ROWID;
)sql";

// Version 2 on top of version 1's tables.
constexpr const char* positions_sql = R"sql(
CREATE TABLE IF NOT EXISTS event_tags (
  tag TEXT NOT NULL,
  position INTEGER NOT NULL,
  PRIMARY KEY (tag, position)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS positions (
  name TEXT PRIMARY KEY,
  position INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO positions (name, position) VALUES ('events', 0);
)sql";

constexpr const char* v1_rows_sql
  = "SELECT actor_id, version, body FROM events ORDER BY actor_id, version";
constexpr const char* number_sql
  = "UPDATE events SET position = ?3 WHERE actor_id = ?1 AND version = ?2";
constexpr const char* tag_sql
  = "INSERT OR IGNORE INTO event_tags (tag, position) VALUES (?1, ?2)";
// Version 2's events move into version 3's table in position order. The
// new table is filled before the old one is dropped and then renamed, so
// views or triggers a user keeps on `events` are not rewritten to the old
// table (SQLite's order for changing a table). Rows without a position (a
// process of version 1 still writing after the upgrade to version 2) get
// the positions after the counter, in (actor id, version) order; the
// counter then covers them.
constexpr const char* rebuild_v2_sql = R"sql(
CREATE TABLE events_v3 (
  position INTEGER PRIMARY KEY,
  actor_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  body BLOB NOT NULL
);
INSERT INTO events_v3 (position, actor_id, version, body)
  SELECT position, actor_id, version, body FROM events
  WHERE position IS NOT NULL ORDER BY position;
INSERT INTO events_v3 (position, actor_id, version, body)
  SELECT (SELECT position FROM positions WHERE name = 'events')
           + row_number() OVER (ORDER BY actor_id, version),
         actor_id, version, body
  FROM events WHERE position IS NULL;
UPDATE positions SET position = (SELECT max(position) FROM events_v3)
  WHERE name = 'events' AND position < (SELECT max(position) FROM events_v3);
DROP TABLE events;
ALTER TABLE events_v3 RENAME TO events;
CREATE UNIQUE INDEX events_by_actor ON events (actor_id, version);
)sql";
constexpr const char* read_head_sql
  = "SELECT position FROM positions WHERE name = 'events'";
constexpr const char* write_head_sql
  = "UPDATE positions SET position = ?1 WHERE name = 'events'";

struct v1_row {
  std::string actor_id;
  int64_t version;
  std::vector<std::string> tags;
};

/// Numbers version 1's events and indexes their tags.
caf::error number_v1_events(sqlite_connection& w) {
  std::vector<v1_row> rows;
  {
    auto stmt = w.prepare(v1_rows_sql);
    if (!stmt)
      return stmt.error();
    sqlite_statement q{*stmt};
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
      v1_row row{std::string{q.column_blob(0)}, q.column_int64(1), {}};
      // A record that does not decode keeps its place and has no tags.
      if (auto ev = json_codec::decode_event(q.column_blob(2)))
        row.tags = ev->tags();
      rows.push_back(std::move(row));
    }
    if (rc != SQLITE_DONE)
      return w.make_error(rc, "cannot read events to number them");
  }
  int64_t position = 0;
  for (auto& row : rows) {
    ++position;
    auto stmt = w.prepare(number_sql);
    if (!stmt)
      return stmt.error();
    sqlite_statement q{*stmt};
    q.bind_text(1, row.actor_id);
    q.bind(2, row.version);
    q.bind(3, position);
    if (auto rc = q.step(); rc != SQLITE_DONE)
      return w.make_error(rc, "cannot number an event");
    if (auto err = index_tags(w, position, row.tags))
      return err;
  }
  return write_position_counter(w, position);
}

} // namespace

caf::error index_tags(sqlite_connection& w, int64_t position,
                      const std::vector<std::string>& tags) {
  for (auto& tag : tags) {
    auto ins = w.prepare(tag_sql);
    if (!ins)
      return ins.error();
    sqlite_statement t{*ins};
    t.bind_text(1, tag);
    t.bind(2, position);
    if (auto rc = t.step(); rc != SQLITE_DONE)
      return w.make_error(rc, "cannot index a tag");
  }
  return caf::none;
}

namespace {

/// The one integer `sql` selects.
caf::expected<int64_t> read_integer(sqlite_connection& conn, const char* sql,
                                    const char* what) {
  auto stmt = conn.prepare(sql);
  if (!stmt)
    return stmt.error();
  sqlite_statement q{*stmt};
  auto rc = q.step();
  if (rc == SQLITE_ROW)
    return q.column_int64(0);
  return conn.make_error(rc, what);
}

} // namespace

caf::expected<int64_t> read_position_counter(sqlite_connection& conn) {
  return read_integer(conn, read_head_sql, "cannot read the position counter");
}

caf::expected<int64_t> read_highest_position(sqlite_connection& conn) {
  return read_integer(conn, "SELECT COALESCE(max(position), 0) FROM events",
                      "cannot read the highest position");
}

caf::error write_position_counter(sqlite_connection& w, int64_t position) {
  auto stmt = w.prepare(write_head_sql);
  if (!stmt)
    return stmt.error();
  sqlite_statement q{*stmt};
  q.bind(1, position);
  if (auto rc = q.step(); rc != SQLITE_DONE)
    return w.make_error(rc, "cannot store the position counter");
  return caf::none;
}

caf::error create_or_upgrade_schema(sqlite_connection& w, int64_t from_version,
                                    int64_t version) {
  if (from_version >= version)
    return caf::none;
  if (auto err = w.exec(create_sql))
    return err;
  if (from_version == 0)
    if (auto err = w.exec(events_v3_sql))
      return err;
  if (from_version == 1)
    if (auto err = w.exec("ALTER TABLE events ADD COLUMN position INTEGER"))
      return err;
  if (auto err = w.exec(positions_sql))
    return err;
  if (from_version == 1)
    if (auto err = number_v1_events(w))
      return err;
  if (from_version == 1 || from_version == 2)
    if (auto err = w.exec(rebuild_v2_sql))
      return err;
  auto pragma = "PRAGMA user_version = " + std::to_string(version);
  return w.exec(pragma.c_str());
}

} // namespace aether::detail
