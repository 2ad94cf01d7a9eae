#pragma once

// Persistent actors spawned with equal contexts and options share one copy
// of each: an idle actor then holds two pointers instead of about 480 bytes
// of shared pointers, strings, policies and functions.

#include "aether/runtime/persistence_options.hpp"
#include "aether/runtime/store_context.hpp"

#include <memory>

namespace aether::detail {

/// True when `a` and `b` name the same store, I/O workers, metrics, recovery
/// limiter, bus and bus namespace.
bool same_context(const store_context& a, const store_context& b);

/// True when `a` and `b` have the same values and neither has a function
/// (`log`, `tagger`, `snapshot_upcaster`, a `when` rule of the snapshot
/// policy): functions cannot be compared, so options with one are never
/// shared.
bool same_options(const persistence_options& a, const persistence_options& b);

/// `ctx` as a shared copy: the copy made last on this thread when it is the
/// same context (one cache entry per thread, no lock), else a new one.
std::shared_ptr<const store_context> share_context(store_context ctx);

/// `opts` as a shared copy, like `share_context`.
std::shared_ptr<const persistence_options>
share_options(persistence_options opts);

} // namespace aether::detail
