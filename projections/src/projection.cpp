#include "aether/projections/projection.hpp"

#include "aether/core/error.hpp"
#include "handler_calls.hpp"
#include "offset_sink.hpp"
#include "projection_worker.hpp"
#include "sqlite_sink.hpp"

#include <algorithm>
#include <cstdio>

namespace aether {

namespace {

using sink_factory
  = std::function<caf::expected<std::unique_ptr<detail::projection_sink>>()>;

/// The start offset of each worker, refusing offsets stored for another
/// number of workers (their shares differ: resuming would skip or repeat).
caf::expected<std::vector<int64_t>>
start_offsets(const projection_options& opts,
              const std::vector<stored_offset>& stored) {
  std::vector<int64_t> out(opts.workers, 0);
  for (auto& x : stored) {
    if (x.workers != opts.workers || x.worker >= opts.workers)
      return make_persistence_error(
        persistence_error::invalid_argument,
        "workers: projection \"" + opts.name + "\" has offsets stored for "
          + std::to_string(x.workers) + " workers; it is configured with "
          + std::to_string(opts.workers)
          + " (run it with as many, or drop its offsets to rebuild the read "
            "model)");
    out[x.worker] = x.position;
  }
  return out;
}

} // namespace

projection::projection(std::shared_ptr<event_store> store,
                       projection_options opts)
  : store_(std::move(store)), opts_(std::move(opts)) {
  // nop
}

projection::~projection() {
  stop();
}

namespace detail {

/// Builds a projection: checks the options, loads the offsets through a
/// first sink and starts one worker per sink.
caf::expected<std::unique_ptr<projection>>
start_projection(std::unique_ptr<projection> p, const projection_options& opts,
                 std::shared_ptr<event_store> store, const sink_factory& make,
                 std::vector<std::unique_ptr<projection_worker>>& workers) {
  std::vector<std::unique_ptr<projection_sink>> sinks;
  for (size_t i = 0; i < opts.workers; ++i) {
    auto sink = make();
    if (!sink)
      return sink.error();
    sinks.push_back(std::move(*sink));
  }
  auto stored = sinks.front()->load();
  if (!stored)
    return stored.error();
  auto offsets = start_offsets(opts, *stored);
  if (!offsets)
    return offsets.error();
  for (size_t i = 0; i < opts.workers; ++i)
    workers.push_back(std::make_unique<projection_worker>(
      store, opts, i, std::move(sinks[i]), (*offsets)[i]));
  return p;
}

} // namespace detail

caf::expected<std::unique_ptr<projection>>
projection::at_least_once(std::shared_ptr<event_store> store,
                          projection_options opts,
                          std::shared_ptr<offset_store> offsets, handler f) {
  if (!f)
    return invalid_field("projection", "needs a store, offsets and a handler");
  return start_at_least_once(std::move(store), std::move(opts),
                             std::move(offsets),
                             detail::handler_calls{sqlite_handler{
                               [f](sqlite3*, const positioned_event& x) {
                                 return f(x);
                               }}});
}

caf::expected<std::unique_ptr<projection>>
projection::at_least_once_batched(std::shared_ptr<event_store> store,
                                  projection_options opts,
                                  std::shared_ptr<offset_store> offsets,
                                  batch_handler f) {
  if (!f)
    return invalid_field("projection", "needs a store, offsets and a handler");
  return start_at_least_once(std::move(store), std::move(opts),
                             std::move(offsets),
                             detail::handler_calls{sqlite_batch_handler{
                               [f](sqlite3*, const event_batch& xs) {
                                 return f(xs);
                               }}});
}

caf::expected<std::unique_ptr<projection>>
projection::exactly_once(std::shared_ptr<event_store> store,
                         projection_options opts, std::string read_model_path,
                         sqlite_handler f) {
  if (!f)
    return invalid_field("projection", "needs a store and a handler");
  return start_exactly_once(std::move(store), std::move(opts), read_model_path,
                            detail::handler_calls{f});
}

caf::expected<std::unique_ptr<projection>>
projection::exactly_once_batched(std::shared_ptr<event_store> store,
                                 projection_options opts,
                                 std::string read_model_path,
                                 sqlite_batch_handler f) {
  if (!f)
    return invalid_field("projection", "needs a store and a handler");
  return start_exactly_once(std::move(store), std::move(opts), read_model_path,
                            detail::handler_calls{f});
}

caf::expected<std::unique_ptr<projection>>
projection::start_at_least_once(std::shared_ptr<event_store> store,
                                projection_options opts,
                                std::shared_ptr<offset_store> offsets,
                                const detail::handler_calls& f) {
  if (auto err = opts.validate())
    return err;
  if (!store || !offsets)
    return invalid_field("projection", "needs a store, offsets and a handler");
  std::unique_ptr<projection> p{new projection(store, std::move(opts))};
  auto& o = p->opts_;
  auto& workers = p->workers_;
  return detail::start_projection(
    std::move(p), o, store,
    [&]() -> caf::expected<std::unique_ptr<detail::projection_sink>> {
      return std::make_unique<detail::offset_sink>(o.name, offsets, f);
    },
    workers);
}

caf::expected<std::unique_ptr<projection>>
projection::start_exactly_once(std::shared_ptr<event_store> store,
                               projection_options opts,
                               const std::string& read_model_path,
                               const detail::handler_calls& f) {
  if (auto err = opts.validate())
    return err;
  if (!store)
    return invalid_field("projection", "needs a store and a handler");
  std::unique_ptr<projection> p{new projection(store, std::move(opts))};
  auto& o = p->opts_;
  auto& workers = p->workers_;
  return detail::start_projection(
    std::move(p), o, store,
    [&]() -> caf::expected<std::unique_ptr<detail::projection_sink>> {
      auto sink = detail::sqlite_sink::open(o.name, read_model_path, f);
      if (!sink)
        return sink.error();
      return std::unique_ptr<detail::projection_sink>{std::move(*sink)};
    },
    workers);
}

void projection::stop() {
  for (auto& w : workers_)
    w->stop();
}

void projection::wake() {
  for (auto& w : workers_)
    w->wake();
}

std::vector<projection_stats> projection::stats() const {
  std::vector<projection_stats> out;
  for (auto& w : workers_)
    out.push_back(w->stats());
  return out;
}

caf::expected<int64_t> projection::events_behind() const {
  auto head = store_->highest_position();
  if (!head)
    return head.error();
  int64_t worst = 0;
  for (auto& s : stats())
    worst = std::max(worst, store_->events_between(s.offset, *head));
  return worst;
}

std::string projection::prometheus() const {
  return prometheus({this});
}

std::string projection::prometheus(const std::vector<const projection*>& xs) {
  struct row {
    std::string labels;
    projection_stats s;
    int64_t lag = 0;
  };
  std::vector<row> rows;
  for (auto* p : xs) {
    auto head = p->store_->highest_position();
    for (auto& s : p->stats()) {
      row r{"{projection=\"" + p->name() + "\",worker=\""
              + std::to_string(s.worker) + "\"}",
            s, 0};
      if (head)
        r.lag = p->store_->events_between(s.offset, *head);
      rows.push_back(std::move(r));
    }
  }
  auto n = [](auto x) {
    return std::to_string(x);
  };
  struct metric {
    const char* name;
    const char* type;
    const char* help;
    std::function<std::string(const row&)> value;
  };
  const metric metrics[] = {
    {"aether_projection_events_handled_total", "counter",
     "Events a projection worker handled and stored with its offset.",
     [&](const row& r) {
       return n(r.s.handled);
     }},
    {"aether_projection_failures_total", "counter",
     "Failed attempts of a projection worker (retried).",
     [&](const row& r) {
       return n(r.s.failures);
     }},
    {"aether_projection_dead_letters_total", "counter",
     "Events a projection worker gave up on and handed to its dead-letter "
     "function.",
     [&](const row& r) {
       return n(r.s.dead_letters);
     }},
    {"aether_projection_read_failures_total", "counter",
     "Store reads of a projection worker that failed (retried).",
     [&](const row& r) {
       return n(r.s.read_failures);
     }},
    {"aether_projection_offset", "gauge",
     "The stored offset of a projection worker.",
     [&](const row& r) {
       return n(r.s.offset);
     }},
    {"aether_projection_lag_events", "gauge",
     "Events between a projection worker's offset and the store's newest "
     "(messages on JetStream).",
     [&](const row& r) {
       return n(r.lag);
     }},
    {"aether_projection_lag_seconds", "gauge",
     "Seconds from the newest event a projection worker handled to now, "
     "while it is behind (0 when caught up).",
     [&](const row& r) {
       char buf[32];
       std::snprintf(buf, sizeof(buf), "%.6f", r.s.seconds_behind);
       return std::string{buf};
     }},
  };
  std::string out;
  for (auto& m : metrics) {
    out += std::string{"# HELP "} + m.name + ' ' + m.help + "\n# TYPE " + m.name
           + ' ' + m.type + '\n';
    for (auto& r : rows)
      out += m.name + r.labels + ' ' + m.value(r) + '\n';
  }
  return out;
}

} // namespace aether
