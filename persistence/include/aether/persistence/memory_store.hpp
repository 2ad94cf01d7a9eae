#pragma once

#include "aether/persistence/snapshot_store.hpp"
#include "aether/persistence/validation.hpp"

#include <atomic>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace aether {

/// An in-memory event and snapshot store for tests and benchmarks.
///
/// Thread-safe; stored events are copies the caller cannot reach; reading
/// version k of an actor is O(1) (events sit in a vector indexed by version).
/// Every append encodes each event with the JSON codec to apply the same size
/// limit as the durable stores.
class memory_store : public event_store_with_snapshots {
public:
  explicit memory_store(store_limits limits = {});
  ~memory_store() override;

  // -- event_store ------------------------------------------------------------

  /// Completes at once, on the calling thread (a short lock, no I/O).
  void append(std::vector<event> batch, append_callback done) override;
  caf::expected<std::vector<event>> get_events(const std::string& actor_id,
                                               event_range range) override;
  using event_store::get_events;
  caf::expected<replay_result>
  get_events_with_errors(const std::string& actor_id,
                         event_range range) override;
  caf::expected<int64_t>
  get_latest_version(const std::string& actor_id) override;
  caf::expected<std::vector<std::string>> actor_ids() override;
  /// Positions are 1, 2, 3, ... in append order; a tag query walks an index
  /// of the tag's positions.
  caf::expected<query_page> events_by_namespace(int64_t after_position,
                                                size_t max_count) override;
  caf::expected<query_page> events_by_tag(const std::string& tag,
                                          int64_t after_position,
                                          size_t max_count) override;
  caf::expected<int64_t> highest_position() override;
  caf::error delete_events_to(const std::string& actor_id,
                              int64_t version) override;

  // -- snapshot_store ---------------------------------------------------------

  caf::error save_snapshot(actor_snapshot s) override;
  caf::expected<std::optional<actor_snapshot>>
  get_latest_snapshot(const std::string& actor_id,
                      snapshot_criteria criteria
                      = snapshot_criteria::latest()) override;
  caf::expected<size_t> delete_snapshots(const std::string& actor_id,
                                         snapshot_criteria criteria) override;

  // -- test hooks -------------------------------------------------------------

  /// Replaces the stored event of `actor_id` at `version` with a record that
  /// reads back as `raw` and does not decode (for tests of corrupt data).
  /// Returns false if no such event is stored.
  bool corrupt_event_for_testing(const std::string& actor_id, int64_t version,
                                 std::string raw);

  /// Stores an undecodable snapshot record at `version`.
  void corrupt_snapshot_for_testing(const std::string& actor_id,
                                    int64_t version, std::string raw);

  /// Counts the events read by `get_events*` since construction.
  size_t events_read() const;

private:
  caf::expected<append_result> store_batch(std::vector<event> batch);

  struct slot {
    event ev;
    std::string corrupt_raw; // non-empty: the record does not decode
  };

  struct snapshot_slot {
    actor_snapshot snapshot;
    std::string corrupt_raw;
  };

  struct stream {
    int64_t first_version = 1; // version of slots[0]
    int64_t latest = 0;        // highest version ever stored
    std::vector<slot> slots;
    std::map<int64_t, snapshot_slot> snapshots;
  };

  template <class F>
  void read_range(const stream& s, const event_range& range, F f) const;

  /// One entry per stored event, at index position - 1.
  struct log_entry {
    const std::string* actor_id; // a key of streams_ (nodes never move)
    int64_t version;
  };

  /// Fills `page` from the positions `[first, last)` (ascending) that
  /// `at(i)` yields; requires a lock.
  template <class At>
  void read_positions(size_t first, size_t last, At at, size_t max_count,
                      query_page& page) const;

  store_limits limits_;
  mutable std::shared_mutex mtx_;
  std::unordered_map<std::string, stream> streams_;
  std::vector<log_entry> log_;
  std::unordered_map<std::string, std::vector<int64_t>> tags_;
  mutable std::atomic<size_t> events_read_{0};
};

} // namespace aether
