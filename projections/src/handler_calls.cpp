#include "handler_calls.hpp"

#include "contained_call.hpp"

namespace aether::detail {

handler_calls::handler_calls(projection::sqlite_handler each)
  : each_(std::move(each)) {
  // nop
}

handler_calls::handler_calls(projection::sqlite_batch_handler batch)
  : batch_(std::move(batch)) {
  // nop
}

handler_calls::failure handler_calls::run(sqlite3* db,
                                          const std::vector<group>& groups,
                                          size_t count, bool whole) const {
  static const std::string what = "the projection's handler";
  if (!batched()) {
    for (size_t i = 0; i < count; ++i)
      for (auto* x : groups[i].events)
        if (auto err = contained_call(what, [&] {
              return each_(db, *x);
            }))
          return {std::move(err), i};
    return {};
  }
  auto call = [&](size_t first, size_t last) {
    std::vector<const positioned_event*> xs;
    for (size_t i = first; i < last; ++i)
      xs.insert(xs.end(), groups[i].events.begin(), groups[i].events.end());
    if (xs.empty())
      return caf::error{};
    event_batch batch{std::move(xs)};
    return contained_call(what, [&] {
      return batch_(db, batch);
    });
  };
  if (whole) {
    if (auto err = call(0, count))
      return {std::move(err), 0};
    return {};
  }
  for (size_t i = 0; i < count; ++i)
    if (auto err = call(i, i + 1))
      return {std::move(err), i};
  return {};
}

} // namespace aether::detail
