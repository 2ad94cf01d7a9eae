#include "projection_worker.hpp"

#include "aether/core/error.hpp"
#include "contained_call.hpp"

#include <chrono>
#include <deque>

namespace aether::detail {

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 14695981039346656037ull;
  for (auto c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

projection_worker::projection_worker(std::shared_ptr<event_store> store,
                                     const projection_options& opts,
                                     size_t index,
                                     std::unique_ptr<projection_sink> sink,
                                     int64_t offset)
  : opts_(opts), index_(index), sink_(std::move(sink)), start_(offset),
    offset_(offset) {
  live_query::options qo;
  qo.batch_size = opts.batch_size;
  qo.poll_interval = opts.poll_interval;
  qo.max_backoff = opts.max_backoff;
  query_ = std::make_unique<live_query>(
    std::move(store), opts.query, offset, qo,
    [this](const query_page& page, int64_t after) {
      return on_page(page, after);
    });
}

projection_worker::~projection_worker() {
  stop();
}

void projection_worker::stop() {
  query_->stop();
  // What was handled last has its offset stored before the worker is done
  // (at-least-once stores it in the background).
  if (sink_->flush())
    failures_ += 1;
}

void projection_worker::wake() {
  query_->wake();
}

bool projection_worker::mine(const std::string& actor_id) const {
  return opts_.workers <= 1 || fnv1a(actor_id) % opts_.workers == index_;
}

projection_stats projection_worker::stats() const {
  projection_stats s;
  s.worker = index_;
  s.handled = handled_.load();
  s.failures = failures_.load();
  s.dead_letters = dead_letters_.load();
  s.read_failures = query_->read_failures();
  auto stored = sink_->stored();
  s.offset = stored < 0 ? start_ : stored;
  s.caught_up = query_->caught_up();
  auto last = last_event_ns_.load();
  if (!s.caught_up && last > 0) {
    auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
    s.seconds_behind = static_cast<double>(std::max<int64_t>(now - last, 0))
                       / 1e9;
  }
  return s;
}

live_query::next_read projection_worker::on_page(const query_page& page,
                                                 int64_t after) {
  projection_sink::read r;
  r.events.reserve(page.events.size());
  r.groups.reserve(page.events.size());
  // Upcast events live here while the page is handled (a deque: pointers
  // into it stay valid); events as stored are handed over in place.
  std::deque<positioned_event> upcast;
  const positioned_event* bad_upcast = nullptr;
  caf::error upcast_err;
  for (auto& x : page.events) {
    if (!mine(x.ev.actor_id))
      continue;
    projection_sink::group g{x.position, r.events.size(), 0};
    upcast_err = event_upcasters::each_current(
      opts_.upcasters, x.ev, [&](const event& e) {
        if (&e == &x.ev) {
          r.events.push_back(&x);
        } else {
          upcast.push_back(positioned_event{x.position, e});
          r.events.push_back(&upcast.back());
        }
      });
    if (upcast_err) {
      bad_upcast = &x;
      r.events.resize(g.begin);
      break;
    }
    g.end = r.events.size();
    r.groups.push_back(g);
  }
  // Where the events handed over end: the page's end, unless a failing
  // upcast or an undecodable record stops it first.
  auto end = page.next_after;
  if (bad_upcast != nullptr)
    end = bad_upcast->position - 1;
  stored_offset from{index_, std::max<size_t>(opts_.workers, 1),
                     offset_.load()};
  end = std::max(end, from.position);
  projection_sink::outcome out;
  out.offset = from.position;
  if (!r.groups.empty() || end > from.position)
    out = sink_->handle(from, r, end);
  offset_ = out.offset;
  failures_ += out.failures;
  if (out.handled > 0) {
    // The groups' events are contiguous from the first on.
    auto n = r.groups[out.handled - 1].end;
    handled_ += n;
    if (n > 0)
      last_event_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         r.events[n - 1]->ev.time.time_since_epoch())
                         .count();
  }
  if (out.err) {
    if (out.handler_failed && out.failed_at < r.groups.size()) {
      auto& g = r.groups[out.failed_at];
      auto* src = &page.events.front();
      for (auto& x : page.events)
        if (x.position == g.position)
          src = &x;
      return failed(g.position, out.err, &src->ev, {});
    }
    // The sink failed (a transaction, an offset not stored), not the
    // event: read on from the stored offset after a backoff, without
    // counting an attempt at the event (it never goes to the dead letters
    // for that).
    failures_ += 1;
    return {out.offset, true};
  }
  if (bad_upcast != nullptr)
    return failed(bad_upcast->position, upcast_err, &bad_upcast->ev, {});
  if (page.error)
    return failed(static_cast<int64_t>(page.error->position),
                  make_persistence_error(persistence_error::corrupt_data,
                                         page.error->reason),
                  nullptr, page.error->raw);
  failing_position_ = -1;
  attempts_ = 0;
  return {std::max(out.offset, after)};
}

live_query::next_read
projection_worker::failed(int64_t position, const caf::error& err,
                          const event* ev, const std::string& raw) {
  failures_ += 1;
  if (position != failing_position_) {
    failing_position_ = position;
    attempts_ = 0;
  }
  attempts_ += 1;
  if (opts_.dead_letter_after == 0 || attempts_ < opts_.dead_letter_after
      || !opts_.dead_letter)
    return {offset_.load(), true};
  dead_letter d;
  d.projection = opts_.name;
  d.worker = index_;
  d.position = position;
  if (ev != nullptr)
    d.ev = *ev;
  d.raw = raw;
  d.reason = describe(err);
  d.attempts = attempts_;
  // The dead-letter function is user code: contained, and then the
  // projection moves on all the same.
  contained_call("the dead-letter function", [&] {
    opts_.dead_letter(d);
    return caf::error{};
  });
  stored_offset x{index_, std::max<size_t>(opts_.workers, 1), position};
  if (auto save_err = sink_->save(x))
    return {offset_.load(), true};
  dead_letters_ += 1;
  offset_ = position;
  failing_position_ = -1;
  attempts_ = 0;
  return {position};
}

} // namespace aether::detail
