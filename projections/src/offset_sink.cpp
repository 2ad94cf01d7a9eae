#include "offset_sink.hpp"

#include "contained_call.hpp"

namespace aether::detail {

offset_sink::offset_sink(std::string name,
                         std::shared_ptr<offset_store> offsets,
                         projection::handler f)
  : name_(std::move(name)), offsets_(std::move(offsets)), f_(std::move(f)) {
  // nop
}

caf::expected<std::vector<stored_offset>> offset_sink::load() {
  return offsets_->load(name_);
}

projection_sink::outcome offset_sink::handle(const stored_offset& from,
                                             const std::vector<group>& groups,
                                             int64_t end) {
  outcome out;
  out.offset = from.position;
  auto stored = [&](int64_t position) {
    auto x = from;
    x.position = position;
    return offsets_->save(name_, x);
  };
  for (; out.handled < groups.size(); ++out.handled) {
    auto& g = groups[out.handled];
    for (auto* x : g.events) {
      out.err = contained_call("the projection's handler", [&] {
        return f_(*x);
      });
      if (out.err)
        break;
    }
    if (out.err)
      break;
  }
  if (out.err) {
    out.handler_failed = true;
    out.failed_at = out.handled;
    if (out.handled > 0) {
      auto last = groups[out.handled - 1].position;
      if (!stored(last))
        out.offset = last;
    }
    return out;
  }
  if (auto err = stored(end)) {
    out.err = std::move(err);
    return out;
  }
  out.offset = end;
  return out;
}

caf::error offset_sink::save(const stored_offset& offset) {
  return offsets_->save(name_, offset);
}

} // namespace aether::detail
