#pragma once

#include "aether/projections/offset_store.hpp"

#include <map>
#include <mutex>
#include <utility>

namespace aether {

/// Offsets in process memory (tests; a projection that may start over).
class memory_offset_store : public offset_store {
public:
  caf::expected<std::vector<stored_offset>>
  load(const std::string& projection) override;
  caf::error save(const std::string& projection,
                  const stored_offset& offset) override;
  caf::error drop(const std::string& projection) override;

private:
  std::mutex mtx_;
  std::map<std::pair<std::string, size_t>, stored_offset> offsets_;
};

} // namespace aether
