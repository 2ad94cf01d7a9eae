#include "aether/jetstream/jetstream_store.hpp"

#include "aether/core/error.hpp"
#include "append_pipeline.hpp"
#include "message_headers.hpp"
#include "query_cursors.hpp"
#include "stream_layout.hpp"
#include "stream_provisioning.hpp"
#include "version_cache.hpp"

#include <algorithm>
#include <optional>
#include <set>

// The store's jobs, one file each: naming (stream_layout.cpp), streams
// (stream_provisioning.cpp), the version cache (version_cache.cpp), appends
// (jetstream_appends.cpp), replay and deletion (jetstream_replay.cpp),
// snapshots (jetstream_snapshots.cpp); this file opens the store and reads
// latest versions.

namespace aether {

namespace hdr = jetstream_headers;

jetstream_store::jetstream_store(std::shared_ptr<nats_connection> conn,
                                 options opts)
  : conn_(conn), opts_(std::move(opts)), js_(conn, opts_.timeout),
    layout_(std::make_unique<detail::stream_layout>(opts_.ns, opts_.stream,
                                                    opts_.snapshot_stream)),
    cache_(std::make_unique<detail::version_cache>(opts_.max_cached_actors)),
    cursors_(
      std::make_unique<detail::query_cursors>(32, std::chrono::seconds{5})) {
  auto& l = opts_.event_limits;
  heads_ = l.max_age.count() > 0 || l.max_msgs > 0 || l.max_bytes > 0;
  detail::append_pipeline::limits lim;
  lim.threads = opts_.append_threads;
  lim.max_events = std::max<size_t>(opts_.max_merged_events, 1);
  lim.drain_timeout = opts_.timeout * 2;
  using group = detail::append_pipeline::group;
  pipeline_ = std::make_unique<detail::append_pipeline>(
    lim,
    [this](group& g, const append_callback& complete,
           const std::function<void()>& run_instead) {
      return start_append(g.events, g.encoded, complete, run_instead);
    },
    [this](group& g) {
      return run_append(g.events, g.encoded);
    });
}

jetstream_store::~jetstream_store() {
  // Waits for every append (each completes within the timeout).
  pipeline_.reset();
}

std::string jetstream_store::event_subject(const std::string& actor_id) const {
  return layout_->event_subject(actor_id);
}

std::string
jetstream_store::snapshot_subject(const std::string& actor_id) const {
  return layout_->snapshot_subject(actor_id);
}

const std::string& jetstream_store::event_stream_name() const {
  return layout_->event_stream();
}

const std::string& jetstream_store::snapshot_stream_name() const {
  return layout_->snapshot_stream();
}

size_t jetstream_store::version_cache_size() const {
  return cache_->size();
}

namespace {

// The settings of existing streams, to the nanosecond.
struct adopted_streams {
  int64_t max_age_ns = 0;
  int64_t events_duplicates_ns = 0;
  int64_t snapshots_duplicates_ns = 0;
  /// 0 when there is no heads stream (opening then says it is missing).
  int64_t heads_duplicates_ns = 0;
};

// Opening without creating: the streams' settings come from the server
// (into `o`, rounded up to whole seconds where the options hold seconds,
// and exactly into the result).
caf::expected<adopted_streams>
adopt_existing(const std::shared_ptr<nats_connection>& conn,
               jetstream_store::options& o) {
  detail::stream_layout layout{o.ns, o.stream, o.snapshot_stream};
  jetstream js{conn, o.timeout};
  auto missing = [&](const std::string& stream, const caf::error& err) {
    if (!is(err, persistence_error::not_found))
      return err;
    return make_persistence_error(
      persistence_error::not_found,
      "stream \"" + stream
        + "\" does not exist: no aether store in namespace \"" + o.ns
        + "\" with event stream \"" + o.stream + "\" and snapshot stream \""
        + o.snapshot_stream + "\" (opened without creating streams)");
  };
  auto events = js.info(layout.event_stream());
  if (!events)
    return missing(layout.event_stream(), events.error());
  auto snapshots = js.info(layout.snapshot_stream());
  if (!snapshots)
    return missing(layout.snapshot_stream(), snapshots.error());
  auto& c = events->config;
  auto whole_seconds = [](int64_t ns) {
    return std::chrono::ceil<std::chrono::seconds>(
      std::chrono::nanoseconds{std::max<int64_t>(ns, 0)});
  };
  o.event_limits.max_age = whole_seconds(c.max_age_ns);
  o.event_limits.max_msgs = c.max_msgs > 0 ? c.max_msgs : 0;
  o.event_limits.max_bytes = c.max_bytes > 0 ? c.max_bytes : 0;
  o.duplicates_window = std::max(whole_seconds(c.duplicates_ns),
                                 std::chrono::seconds{1});
  o.replicas = c.replicas;
  o.snapshots_per_actor = snapshots->config.max_msgs_per_subject;
  adopted_streams result{std::max<int64_t>(c.max_age_ns, 0), c.duplicates_ns,
                         snapshots->config.duplicates_ns, 0};
  if (auto heads = js.info(layout.heads_stream()))
    result.heads_duplicates_ns = heads->config.duplicates_ns;
  return result;
}

} // namespace

caf::expected<std::unique_ptr<jetstream_store>>
jetstream_store::open(std::shared_ptr<nats_connection> conn, options opts) {
  if (!conn)
    return make_persistence_error(persistence_error::invalid_argument,
                                  "jetstream_store: no connection");
  if (opts.event_limits.max_age.count() < 0
      || opts.duplicates_window.count() <= 0)
    return make_persistence_error(
      persistence_error::invalid_argument,
      "jetstream_store options: event_limits.max_age must be >= 0 (0: "
      "forever) and duplicates_window > 0");
  std::optional<adopted_streams> adopted;
  if (!opts.create) {
    auto found = adopt_existing(conn, opts);
    if (!found)
      return found.error();
    adopted = *found;
  }
  std::unique_ptr<jetstream_store> st{
    new jetstream_store(std::move(conn), std::move(opts))};
  auto& o = st->opts_;
  auto& layout = *st->layout_;
  auto ns_of = [](auto d) {
    return static_cast<int64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
  };
  auto stream = [&](const std::string& name, const std::string& subjects) {
    stream_config c;
    c.name = name;
    c.subjects = {subjects};
    c.replicas = o.replicas;
    c.duplicates_ns = ns_of(o.duplicates_window);
    return c;
  };
  auto events = stream(layout.event_stream(), layout.event_filter());
  events.max_age_ns = ns_of(o.event_limits.max_age);
  events.max_msgs = o.event_limits.max_msgs > 0 ? o.event_limits.max_msgs : -1;
  events.max_bytes = o.event_limits.max_bytes > 0 ? o.event_limits.max_bytes
                                                  : -1;
  if (events.max_age_ns > 0) // the server wants the window within the age
    events.duplicates_ns = std::min(events.duplicates_ns, events.max_age_ns);
  if (adopted) {
    events.max_age_ns = adopted->max_age_ns;
    events.duplicates_ns = adopted->events_duplicates_ns;
  }
  if (auto err = detail::ensure_stream(st->js_, events, o.create))
    return err;
  if (st->heads_) {
    // With limits, events can expire; each actor's latest version is kept
    // in a stream without limits (one message per actor), so an actor whose
    // events all expired is not taken for a new one.
    auto heads = stream(layout.heads_stream(), layout.heads_filter());
    heads.max_msgs_per_subject = 1;
    if (adopted && adopted->heads_duplicates_ns > 0)
      heads.duplicates_ns = adopted->heads_duplicates_ns;
    if (auto err = detail::ensure_stream(st->js_, heads, o.create))
      return err;
  }
  auto snapshots = stream(layout.snapshot_stream(), layout.snapshot_filter());
  snapshots.max_msgs_per_subject = o.snapshots_per_actor;
  if (adopted)
    snapshots.duplicates_ns = adopted->snapshots_duplicates_ns;
  if (auto err = detail::ensure_stream(st->js_, snapshots, o.create))
    return err;
  return st;
}

caf::expected<detail::version_entry>
jetstream_store::read_last(const std::string& actor_id) {
  auto last
    = last_message(layout_->event_stream(), layout_->event_subject(actor_id),
                   "cannot read the latest event of \"" + actor_id + "\"");
  if (!last)
    return last.error();
  detail::version_entry e;
  e.seq_known = true;
  if (!*last) {
    // No message: sequence 0, and version 0 unless the actor's head says
    // that its events expired.
    if (heads_) {
      auto head = read_head(actor_id);
      if (!head)
        return head.error();
      e.version = *head;
    }
  } else {
    e.seq = last->sequence();
    if (!last->header_int(hdr::version, e.version))
      return make_persistence_error(persistence_error::corrupt_data,
                                    "the last message of \"" + actor_id
                                      + "\" (sequence " + std::to_string(e.seq)
                                      + ") has no Aether-Version header");
  }
  cache_->put(actor_id, e);
  return e;
}

caf::expected<int64_t> jetstream_store::read_head(const std::string& actor_id) {
  auto head = last_message(layout_->heads_stream(),
                           layout_->head_subject(actor_id),
                           "cannot read the head of \"" + actor_id + "\"");
  if (!head)
    return head.error();
  int64_t version = 0;
  if (*head)
    head->header_int(hdr::version, version);
  return version;
}

void jetstream_store::write_head(const std::string& actor_id, int64_t version) {
  if (!heads_)
    return;
  jetstream_message m{layout_->head_subject(actor_id), {}};
  m.set_header(hdr::version, std::to_string(version));
  // A head that could not be written lags; the actor's next append writes
  // it again (it matters only once every event of the actor expired).
  if (!js_.publish(m))
    head_failures_ += 1;
}

caf::expected<jetstream_message>
jetstream_store::last_message(const std::string& stream,
                              const std::string& subject,
                              const std::string& what) {
  auto m = js_.last_message(stream, subject);
  if (!m)
    return prefix_error(what, m.error());
  return m;
}

caf::expected<uint64_t>
jetstream_store::last_seq_of(const std::string& stream,
                             const std::string& subject) {
  auto last = last_message(stream, subject, "cannot read \"" + subject + "\"");
  if (!last)
    return last.error();
  return last->sequence();
}

caf::expected<int64_t>
jetstream_store::get_latest_version(const std::string& actor_id) {
  if (auto err = validate_actor_id(actor_id))
    return err;
  auto last = read_last(actor_id);
  if (!last)
    return last.error();
  return last->version;
}

caf::expected<std::vector<std::string>> jetstream_store::actor_ids() {
  // Every actor's subject keeps a last message (its last batch, or the
  // marker of a deletion), so the event stream's subjects name them all;
  // with event limits, the heads stream also names those whose events
  // expired.
  std::set<std::string> ids;
  auto collect = [&](const std::string& stream,
                     const std::string& filter) -> caf::error {
    auto info = js_.info(stream, filter);
    if (!info)
      return info.error();
    auto prefix = filter.substr(0, filter.size() - 1); // without the ">"
    for (auto& kv : info->subjects)
      if (kv.first.compare(0, prefix.size(), prefix) == 0)
        ids.insert(detail::actor_of_token(kv.first.substr(prefix.size())));
    return caf::none;
  };
  if (auto err = collect(layout_->event_stream(), layout_->event_filter()))
    return err;
  if (heads_)
    if (auto err = collect(layout_->heads_stream(), layout_->heads_filter()))
      return err;
  return std::vector<std::string>{ids.begin(), ids.end()};
}

void jetstream_store::update_version_cache(const std::string& actor_id,
                                           int64_t version) {
  cache_->raise(actor_id, version);
}

} // namespace aether
