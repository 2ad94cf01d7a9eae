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

handler_calls::failure handler_calls::run(sqlite3* db, const read& r,
                                          size_t count, bool whole) const {
  static const std::string what = "the projection's handler";
  auto& gs = r.groups;
  if (!batched()) {
    for (size_t i = 0; i < count; ++i)
      for (auto k = gs[i].begin; k < gs[i].end; ++k)
        if (auto err = contained_call(what, [&] {
              return each_(db, *r.events[k]);
            }))
          return {std::move(err), i};
    return {};
  }
  // Groups [first, last) in one call.
  auto call = [&](size_t first, size_t last) {
    auto begin = gs[first].begin;
    auto end = gs[last - 1].end;
    if (begin == end)
      return caf::error{};
    event_batch batch{r.events.data() + begin, end - begin};
    return contained_call(what, [&] {
      return batch_(db, batch);
    });
  };
  if (count == 0)
    return {};
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
