#pragma once

// Shared by the source files of persistent_actor_base (one per phase); not
// a public header.

#include "aether/core/error.hpp"
#include "aether/persistence/event_store.hpp"
#include "aether/runtime/io_job.hpp"
#include "aether/runtime/persistent_actor_base.hpp"

#include <atomic>
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/message.hpp>
#include <caf/type_erased_tuple.hpp>

namespace aether::detail {

using restart_atom = caf::atom_constant<caf::atom("ae_restart")>;
using persist_done_atom = caf::atom_constant<caf::atom("ae_pdone")>;
using persist_timeout_atom = caf::atom_constant<caf::atom("ae_ptime")>;
using stop_atom = caf::atom_constant<caf::atom("ae_stop")>;
using exit_timeout_atom = caf::atom_constant<caf::atom("ae_exitto")>;
using recovery_slot_atom = caf::atom_constant<caf::atom("ae_rslot")>;

/// Gives `err` a context of its own, allocated on the calling (the actor's)
/// thread. A store completes appends on threads of its own (nats.c's, the
/// SQLite writer's), and the error it made there would otherwise be shared,
/// through the replies, with every requester that reads it. That is safe
/// (CAF's mailboxes order it), but Debian's libcaf_core is not built with
/// ThreadSanitizer, which then sees a requester's read race with the store
/// thread's write (see .ci/tsan.supp); a copy made here is ordered for it.
inline void own_error(caf::error& err) {
  if (err && !err.context().empty())
    err.context() = caf::message::copy(err.context().content());
}

/// Carries the result of an append back to the actor.
struct async_append : io_job {
  caf::expected<append_result> result = caf::error{};
  void run() override {
    // nop: filled in by the store's completion callback
  }
  /// Called by the completion after it set `result`: true when `append`
  /// had not returned yet (the caller then finishes in place).
  bool completed_inline() {
    int expected = 0;
    return state.compare_exchange_strong(expected, 1);
  }
  /// Called once `append` returned: true when the completion is still to
  /// come (it then arrives as a message).
  bool returned() {
    int expected = 0;
    return state.compare_exchange_strong(expected, 2);
  }
  /// The outcome, on the actor's thread (an error made its own there).
  caf::expected<append_result> take() {
    if (!result)
      own_error(result.error());
    return std::move(result);
  }
  std::atomic<int> state{0};
};

/// True when a failed append certainly stored nothing.
inline bool outcome_known(const caf::error& err) {
  return is(err, persistence_error::invalid_argument)
         || is(err, persistence_error::version_conflict)
         || is(err, persistence_error::unavailable);
}

/// `(passivate_atom)` or `(passivate_atom, bool snapshot)`.
inline bool is_passivate(const caf::type_erased_tuple& msg) {
  return msg.match_elements<passivate_atom>()
         || msg.match_elements<passivate_atom, bool>();
}

} // namespace aether::detail
