#pragma once

#include "aether/runtime/event_bus.hpp"

#include <mutex>
#include <utility>
#include <vector>

namespace aether::detail {

/// The deliveries waiting for a callback subscription's actor. A publisher
/// appends and sends the actor one message only when none is on its way, and
/// the actor takes everything queued per message: under load one message
/// carries many events (one thread hand-off instead of one per event); an
/// event alone goes at once, as before.
struct bus_inbox {
  std::mutex m;
  std::vector<bus_event> events;
  // A message telling the actor to take the queue is on its way.
  bool scheduled = false;
  // The subscription ended: nothing is queued any more.
  bool closed = false;

  /// Appends `e`; true when the caller must send that message. After
  /// `close`, drops `e` (a queued delivery holds its subscription alive).
  bool push(bus_event e) {
    std::lock_guard<std::mutex> guard{m};
    if (closed)
      return false;
    events.push_back(std::move(e));
    if (scheduled)
      return false;
    scheduled = true;
    return true;
  }

  /// Everything queued, oldest first (the next push sends a message again).
  std::vector<bus_event> take() {
    std::vector<bus_event> out;
    std::lock_guard<std::mutex> guard{m};
    out.swap(events);
    scheduled = false;
    return out;
  }

  /// Drops what is queued and everything pushed later.
  void close() {
    std::vector<bus_event> dropped;
    {
      std::lock_guard<std::mutex> guard{m};
      closed = true;
      dropped.swap(events);
    }
  }
};

} // namespace aether::detail
