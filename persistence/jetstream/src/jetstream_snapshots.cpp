#include "aether/core/error.hpp"
#include "aether/jetstream/jetstream_store.hpp"
#include "aether/persistence/json_codec.hpp"
#include "message_headers.hpp"
#include "stream_layout.hpp"

#include <limits>
#include <map>

// Snapshots: one subject per actor whose last message is always the newest
// snapshot (so that the latest one is one last-message read).

namespace aether {

namespace hdr = jetstream_headers;

namespace {

bool unbounded(const snapshot_criteria& c) {
  return c.max_version == std::numeric_limits<int64_t>::max()
         && c.min_version <= 0 && c.max_time == timestamp::max()
         && c.min_time == timestamp::min();
}

} // namespace

struct jetstream_store::stored_message {
  uint64_t seq;
  int64_t version;
  int64_t time_ns;

  static stored_message of(const jetstream_message& m) {
    stored_message x{m.sequence(), 0, 0};
    m.header_int(hdr::version, x.version);
    m.header_int(hdr::time, x.time_ns);
    return x;
  }

  bool selected_by(const snapshot_criteria& c) const {
    actor_snapshot probe;
    probe.version = version;
    probe.time = timestamp{std::chrono::nanoseconds{time_ns}};
    return c.matches(probe);
  }
};

caf::error jetstream_store::publish_snapshot(const std::string& actor_id,
                                             std::string_view body,
                                             int64_t version, int64_t time_ns) {
  jetstream_message m{layout_->snapshot_subject(actor_id), body};
  m.set_header(hdr::version, std::to_string(version));
  m.set_header(hdr::time, std::to_string(time_ns));
  auto ack = js_.publish(m);
  if (!ack)
    return prefix_error("cannot save the snapshot of \"" + actor_id + "\"",
                        ack.error());
  return caf::none;
}

caf::error jetstream_store::save_snapshot(actor_snapshot snap) {
  auto encoded = prepare_snapshot(snap, opts_.limits);
  if (!encoded)
    return encoded.error();
  if (!conn_->connected())
    return make_persistence_error(persistence_error::unavailable,
                                  "NATS is not connected; nothing was sent");
  // The subject's last message must stay the highest version (so that the
  // latest snapshot is one last-message-by-subject read).
  auto prev = last_message(layout_->snapshot_stream(),
                           layout_->snapshot_subject(snap.actor_id),
                           "cannot read the snapshot");
  jetstream_message previous = prev ? std::move(*prev) : jetstream_message{};
  if (auto err = publish_snapshot(snap.actor_id, *encoded, snap.version,
                                  snap.time.time_since_epoch().count()))
    return err;
  auto p = stored_message::of(previous);
  if (previous && p.version > snap.version)
    return publish_snapshot(snap.actor_id, previous.data(), p.version,
                            p.time_ns);
  return caf::none;
}

caf::expected<std::optional<actor_snapshot>>
jetstream_store::get_latest_snapshot(const std::string& actor_id,
                                     snapshot_criteria c) {
  if (auto err = validate_actor_id(actor_id))
    return err;
  auto& stream = layout_->snapshot_stream();
  auto subject = layout_->snapshot_subject(actor_id);
  auto decode
    = [&](std::string_view body,
          int64_t version) -> caf::expected<std::optional<actor_snapshot>> {
    auto snap = json_codec::decode_snapshot(body);
    if (!snap)
      return make_corrupt_snapshot(actor_id, version, describe(snap.error()));
    if (snap->actor_id != actor_id || snap->version != version)
      return make_corrupt_snapshot(actor_id, version,
                                   "record names another actor or version");
    return std::optional<actor_snapshot>{std::move(*snap)};
  };
  if (unbounded(c)) {
    auto last = last_message(
      stream, subject, "cannot read the snapshot of \"" + actor_id + "\"");
    if (!last)
      return last.error();
    if (!*last)
      return std::optional<actor_snapshot>{};
    return decode(last->data(), stored_message::of(*last).version);
  }
  auto last = last_seq_of(stream, subject);
  if (!last)
    return last.error();
  std::optional<stored_message> best;
  std::string best_body;
  auto err = js_.read(
    stream, subject, 1, *last, false, [&](const jetstream_message& m) {
      auto x = stored_message::of(m);
      if (x.selected_by(c) && (!best || x.version >= best->version)) {
        best = x;
        best_body = std::string{m.data()};
      }
      return true;
    });
  if (err)
    return err;
  if (!best)
    return std::optional<actor_snapshot>{};
  return decode(best_body, best->version);
}

caf::expected<size_t>
jetstream_store::delete_snapshots(const std::string& actor_id,
                                  snapshot_criteria c) {
  if (auto err = validate_actor_id(actor_id))
    return err;
  auto& stream = layout_->snapshot_stream();
  auto subject = layout_->snapshot_subject(actor_id);
  auto last = last_seq_of(stream, subject);
  if (!last)
    return last.error();
  std::vector<uint64_t> doomed;
  std::map<int64_t, bool> versions;
  // The newest snapshot that stays, in case the subject's last message goes.
  std::optional<stored_message> keep;
  std::string keep_body;
  auto err = js_.read(stream, subject, 1, *last, false,
                      [&](const jetstream_message& m) {
                        auto x = stored_message::of(m);
                        if (x.selected_by(c)) {
                          doomed.push_back(x.seq);
                          versions[x.version] = true;
                        } else if (!keep || x.version >= keep->version) {
                          keep = x;
                          keep_body = std::string{m.data()};
                        }
                        return true;
                      });
  if (err)
    return err;
  bool last_deleted = false;
  for (auto seq : doomed) {
    if (auto err = js_.delete_message(stream, seq))
      return prefix_error("cannot delete snapshots of \"" + actor_id + "\"",
                          err);
    last_deleted = last_deleted || seq == *last;
  }
  if (last_deleted && keep) {
    // Keep the invariant "the last message is the newest snapshot" (the
    // server does not find a subject's last message once it was deleted).
    if (auto err = publish_snapshot(actor_id, keep_body, keep->version,
                                    keep->time_ns))
      return err;
    // The older copy of it may stay if this fails: the newest is the last.
    static_cast<void>(js_.delete_message(stream, keep->seq));
  }
  return versions.size();
}

} // namespace aether
