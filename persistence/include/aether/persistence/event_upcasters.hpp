#pragma once

#include "aether/persistence/event.hpp"

#include <caf/expected.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace aether {

/// Schema evolution of stored events: upcasters turn an event written by an
/// older version of the code into the current shape, on every read (recovery,
/// `capture_state`, `load`), so that `apply` only ever sees current events.
///
/// - An event's schema version is its metadata `schemaVersion` (a decimal
///   string, Go-compatible metadata); an event without it is version 1.
///   Persisting stamps each event with its type's current version.
/// - A step is registered per (event type, from version) and turns one event
///   of that version into zero, one or several events (Akka's `EventSeq`):
///   none drops it, several split it. A result of the same type is at
///   `from + 1`; a result of another type (a rename, a split into new types)
///   is at the current version of that type, unless the step sets its
///   `schemaVersion` to another version. Steps apply until every event is
///   current.
/// - A result must keep the actor id and the version of the stored event (the
///   actor's version counts stored events).
/// - A type's current version is 1 + its highest step. The chains are
///   checked when the set is made (`make`): steps of a type start at 1 and
///   have no gap, no step is registered twice, every step has a function.
///   An unchecked set cannot exist.
///
/// Thread-safe once made (immutable); user functions must be too (they run
/// on the store I/O workers and actor threads).
class event_upcasters {
public:
  using function = std::function<std::vector<event>(const event&)>;

  struct step {
    std::string type;
    int from_version = 1;
    function upcast;
  };

  /// Checks the chains and makes the set; `invalid_argument` names the type
  /// and the rule broken.
  static caf::expected<std::shared_ptr<const event_upcasters>>
  make(std::vector<step> steps);

  /// The current schema version of `type` (1 without steps).
  int current_version(const std::string& type) const;

  /// `ev` in the current shape: zero or more events. Fails with
  /// `corrupt_data` naming the event when its schema version is not a
  /// number, is newer than the current one, a step throws, or a result
  /// changes the actor id or version.
  caf::expected<std::vector<event>> upcast(const event& ev) const;

  /// Calls `f` with each event `upcast(ev)` gives, or returns its error.
  /// With `upcasters` empty, calls `f` with `ev` itself (no copy).
  static caf::error
  each_current(const std::shared_ptr<const event_upcasters>& upcasters,
               const event& ev, const std::function<void(const event&)>& f);

  /// Sets `ev`'s `schemaVersion` to its type's current version (left out at
  /// version 1, as events written before any upcaster).
  void stamp(event& ev) const;

  /// The schema version `ev` carries (1 without one), or `corrupt_data`.
  static caf::expected<int> version_of(const event& ev);

private:
  event_upcasters() = default;

  // (type, from version) -> step.
  std::map<std::pair<std::string, int>, function> steps_;
  std::map<std::string, int> current_;
};

} // namespace aether
