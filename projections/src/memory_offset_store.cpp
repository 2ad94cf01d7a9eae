#include "aether/projections/memory_offset_store.hpp"

namespace aether {

caf::expected<std::vector<stored_offset>>
memory_offset_store::load(const std::string& projection) {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<stored_offset> out;
  for (auto i = offsets_.lower_bound({projection, 0});
       i != offsets_.end() && i->first.first == projection; ++i)
    out.push_back(i->second);
  return out;
}

caf::error memory_offset_store::save(const std::string& projection,
                                     const stored_offset& offset) {
  std::lock_guard<std::mutex> guard{mtx_};
  offsets_[{projection, offset.worker}] = offset;
  return caf::none;
}

caf::error memory_offset_store::drop(const std::string& projection) {
  std::lock_guard<std::mutex> guard{mtx_};
  offsets_.erase(offsets_.lower_bound({projection, 0}),
                 offsets_.lower_bound({projection + '\0', 0}));
  return caf::none;
}

} // namespace aether
