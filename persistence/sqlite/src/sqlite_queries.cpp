#include "aether/core/error.hpp"
#include "aether/persistence/json_codec.hpp"
#include "aether/sqlite/sqlite_store.hpp"
#include "sqlite_connection.hpp"
#include "sqlite_schema.hpp"

#include <algorithm>

// The queries in the global order: events by position, all of them or one
// tag's, read through the reader connection.

namespace aether {

using detail::sqlite_statement;

namespace {

constexpr const char* by_position_sql
  = "SELECT position, actor_id, version, body FROM events "
    "WHERE position <= ?1 AND position > ?2 ORDER BY position LIMIT ?3";
constexpr const char* by_tag_sql
  = "SELECT e.position, e.actor_id, e.version, e.body FROM event_tags t "
    "JOIN events e ON e.position = t.position WHERE t.tag = ?4 "
    "AND t.position <= ?1 AND t.position > ?2 ORDER BY t.position LIMIT ?3";

} // namespace

caf::expected<query_page> sqlite_store::read_query(
  const char* sql, int64_t after_position, size_t max_count,
  const std::function<void(detail::sqlite_statement&)>& bind) {
  after_position = std::max<int64_t>(after_position, 0);
  std::lock_guard<std::mutex> guard{reader_->mtx};
  auto& r = *reader_;
  if (found_schema_version_ < 2)
    return make_persistence_error(
      persistence_error::store_failure,
      "SQLite database \"" + opts_.path
        + "\" has schema version 1, without positions; open it writable once "
          "to upgrade it");
  // Everything at or below the head was committed before this read; the
  // query reads a later state, so it sees a prefix of the order without a
  // hole, also while writers append.
  auto head = detail::read_position_counter(r);
  if (!head)
    return head.error();
  query_page page;
  page.next_after = after_position;
  if (max_count == 0) {
    page.at_end = after_position >= *head;
    return page;
  }
  auto stmt = r.prepare(sql);
  if (!stmt)
    return stmt.error();
  sqlite_statement q{*stmt};
  q.bind(1, *head);
  q.bind(2, after_position);
  q.bind(3, max_count > static_cast<size_t>(INT64_MAX)
              ? int64_t{-1}
              : static_cast<int64_t>(max_count));
  bind(q);
  size_t rows = 0;
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) {
    ++rows;
    auto position = q.column_int64(0);
    auto actor_id = q.column_blob(1);
    auto version = q.column_int64(2);
    auto body = q.column_blob(3);
    auto ev = json_codec::decode_event(body);
    std::string reason;
    if (!ev)
      reason = describe(ev.error());
    else if (ev->version != version || ev->actor_id != actor_id)
      reason = "record names actor \"" + ev->actor_id + "\" version "
               + std::to_string(ev->version) + " but is stored as actor \""
               + std::string{actor_id} + "\" version "
               + std::to_string(version);
    if (!reason.empty()) {
      page.error = replay_error{static_cast<uint64_t>(position),
                                std::string{body}, std::move(reason)};
      return page;
    }
    page.events.push_back(positioned_event{position, std::move(*ev)});
    page.next_after = position;
  }
  if (rc != SQLITE_DONE)
    return r.make_error(rc, "cannot read events in position order");
  if (rows < max_count) {
    page.at_end = true;
    page.next_after = std::max(page.next_after, *head);
  }
  return page;
}

caf::expected<query_page>
sqlite_store::events_by_namespace(int64_t after_position, size_t max_count) {
  return read_query(by_position_sql, after_position, max_count,
                    [](sqlite_statement&) {});
}

caf::expected<query_page> sqlite_store::events_by_tag(const std::string& tag,
                                                      int64_t after_position,
                                                      size_t max_count) {
  if (auto err = validate_tag(tag))
    return err;
  return read_query(by_tag_sql, after_position, max_count,
                    [&tag](sqlite_statement& q) {
                      q.bind_text(4, tag);
                    });
}

caf::expected<int64_t> sqlite_store::highest_position() {
  std::lock_guard<std::mutex> guard{reader_->mtx};
  if (found_schema_version_ < 2)
    return int64_t{0};
  return detail::read_position_counter(*reader_);
}

} // namespace aether
