#pragma once

#include "aether/persistence/event_query.hpp"

#include <boost/iterator/indirect_iterator.hpp>
#include <cstddef>
#include <vector>

namespace aether {

/// The events a batch handler gets in one call, in position order (see
/// `projection::at_least_once_batched` and `exactly_once_batched`): those
/// of one read, or of one stored event when a failing batch is handed over
/// again event by event. A view: the events live until the handler returns.
class event_batch {
public:
  using const_iterator = boost::indirect_iterator<
    std::vector<const positioned_event*>::const_iterator>;

  event_batch() = default;

  explicit event_batch(std::vector<const positioned_event*> events)
    : events_(std::move(events)) {
    // nop
  }

  size_t size() const {
    return events_.size();
  }

  bool empty() const {
    return events_.empty();
  }

  const positioned_event& operator[](size_t i) const {
    return *events_[i];
  }

  const positioned_event& front() const {
    return *events_.front();
  }

  const positioned_event& back() const {
    return *events_.back();
  }

  const_iterator begin() const {
    return const_iterator{events_.begin()};
  }

  const_iterator end() const {
    return const_iterator{events_.end()};
  }

private:
  std::vector<const positioned_event*> events_;
};

} // namespace aether
