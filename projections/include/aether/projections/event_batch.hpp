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
  using const_iterator
    = boost::indirect_iterator<const positioned_event* const*>;

  event_batch() = default;

  /// The `n` events at `first`.
  event_batch(const positioned_event* const* first, size_t n)
    : first_(first), size_(n) {
    // nop
  }

  /// The events of `xs` (which must outlive the batch).
  explicit event_batch(const std::vector<const positioned_event*>& xs)
    : first_(xs.data()), size_(xs.size()) {
    // nop
  }

  size_t size() const {
    return size_;
  }

  bool empty() const {
    return size_ == 0;
  }

  const positioned_event& operator[](size_t i) const {
    return *first_[i];
  }

  const positioned_event& front() const {
    return *first_[0];
  }

  const positioned_event& back() const {
    return *first_[size_ - 1];
  }

  const_iterator begin() const {
    return const_iterator{first_};
  }

  const_iterator end() const {
    return const_iterator{first_ + size_};
  }

private:
  const positioned_event* const* first_ = nullptr;
  size_t size_ = 0;
};

} // namespace aether
