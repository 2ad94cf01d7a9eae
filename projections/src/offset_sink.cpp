#include "offset_sink.hpp"

namespace aether::detail {

offset_sink::offset_sink(std::string name,
                         std::shared_ptr<offset_store> offsets, handler_calls f)
  : name_(name), offsets_(offsets), f_(std::move(f)),
    committer_(std::move(name), std::move(offsets)) {
  // nop
}

caf::expected<std::vector<stored_offset>> offset_sink::load() {
  return offsets_->load(name_);
}

projection_sink::outcome offset_sink::handle(const stored_offset& from,
                                             const read& r, int64_t end) {
  outcome out;
  out.offset = from.position;
  // An offset that could not be stored holds the worker back: nothing new
  // is handled until it is (the worker reads this page again after a
  // backoff), so a failing offset store never lets it run ahead unsaved.
  if (auto err = committer_.retry()) {
    out.err = std::move(err);
    return out;
  }
  // The offset of this read is stored while the next one is handled: wait
  // for the save of the read before, then start this one's. When the one
  // before failed, this newer offset covers it, stored right here.
  auto keep = [&](int64_t position) -> caf::error {
    auto x = from;
    x.position = position;
    if (committer_.wait())
      return committer_.save(x);
    committer_.start(x);
    return caf::none;
  };
  auto failed = f_.run(nullptr, r, r.groups.size(), f_.batched());
  if (failed.err && f_.batched() && r.groups.size() > 1) {
    // Which event fails? One call per stored event finds it (the failed
    // batch counts as a failure of its own).
    out.failures += 1;
    failed = f_.run(nullptr, r, r.groups.size(), false);
  }
  out.handled = failed.err ? failed.at : r.groups.size();
  if (failed.err) {
    out.err = std::move(failed.err);
    out.handler_failed = true;
    out.failed_at = out.handled;
    if (out.handled > 0) {
      // Not stored: tried again before the next read is handled.
      out.offset = r.groups[out.handled - 1].position;
      keep(out.offset);
    }
    return out;
  }
  out.offset = end;
  if (end != from.position)
    if (auto err = keep(end))
      out.err = std::move(err); // handled; its offset tried again first
  return out;
}

caf::error offset_sink::save(const stored_offset& offset) {
  return committer_.save(offset);
}

caf::error offset_sink::flush() {
  committer_.wait();
  return committer_.retry();
}

int64_t offset_sink::stored() const {
  return committer_.stored();
}

} // namespace aether::detail
