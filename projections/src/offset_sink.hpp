#pragma once

#include "aether/projections/projection.hpp"
#include "handler_calls.hpp"
#include "offset_committer.hpp"
#include "projection_sink.hpp"

#include <memory>
#include <string>

namespace aether::detail {

/// At-least-once: the handler, then the offset in an `offset_store`, stored
/// in the background while the next read is handled (`offset_committer`).
/// A batch handler's failing batch is handed over again one stored event
/// per call, to find the event that fails.
class offset_sink : public projection_sink {
public:
  offset_sink(std::string name, std::shared_ptr<offset_store> offsets,
              handler_calls f);

  caf::expected<std::vector<stored_offset>> load() override;
  outcome handle(const stored_offset& from, const read& r,
                 int64_t end) override;
  caf::error save(const stored_offset& offset) override;
  caf::error flush() override;
  int64_t stored() const override;

private:
  std::string name_;
  std::shared_ptr<offset_store> offsets_;
  handler_calls f_;
  offset_committer committer_;
};

} // namespace aether::detail
