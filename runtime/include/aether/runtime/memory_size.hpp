#pragma once

// Detects a state's own size function, used by the actor registry's memory
// budget: `uint64_t memory_size() const` (any unsigned integer type), the
// bytes the state holds, heap included. Without one the registry estimates
// the state by the size of its last snapshot.

#include <type_traits>
#include <utility>

namespace aether::detail {

template <class State, class = void>
struct has_memory_size : std::false_type {};

template <class State>
struct has_memory_size<
  State, std::void_t<decltype(std::declval<const State&>().memory_size())>>
  : std::is_integral<decltype(std::declval<const State&>().memory_size())> {};

} // namespace aether::detail
