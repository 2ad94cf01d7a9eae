#include "aether/core/error.hpp"
#include "aether/core/uuid.hpp"
#include "aether/jetstream/jetstream_store.hpp"
#include "batch_body.hpp"
#include "message_headers.hpp"
#include "stream_layout.hpp"
#include "version_cache.hpp"

// Replay (an actor's events in a version range, decoded, with the messages
// that do not decode reported) and deletion of events up to a version.

namespace aether {

namespace hdr = jetstream_headers;

caf::expected<replay_result>
jetstream_store::get_events_with_errors(const std::string& actor_id,
                                        event_range range) {
  if (auto err = validate_actor_id(actor_id))
    return err;
  replay_result result;
  if (range.max_count == 0 || range.from_version > range.to_version)
    return result;
  auto last = read_last(actor_id);
  if (!last)
    return last.error();
  if (last->seq == 0)
    return result;
  auto subject = layout_->event_subject(actor_id);
  auto read = [&](uint64_t start) -> caf::error {
    result = replay_result{};
    // The position of the last message read whole; a message that
    // `max_count` cuts is read again by the next call.
    uint64_t whole = start - 1;
    return js_.read(
      layout_->event_stream(), subject, start, last->seq, false,
      [&](const jetstream_message& m) {
        auto seq = m.sequence();
        ++messages_read_;
        int64_t marker = 0;
        if (m.header_int(hdr::deleted_to, marker)) {
          whole = seq;
          result.last_position = whole;
          return true;
        }
        int64_t lo = 0;
        int64_t hi = 0;
        bool has_range = m.header_int(hdr::first_version, lo)
                         && m.header_int(hdr::version, hi);
        if (has_range && hi < range.from_version) {
          whole = seq;
          result.last_position = whole;
          return true;
        }
        if (has_range && lo > range.to_version)
          return false;
        auto body = m.data();
        bool cut = false;
        auto add = [&](event&& e) {
          if (e.version < range.from_version || e.version > range.to_version)
            return;
          if (result.events.size() < range.max_count)
            result.events.push_back(std::move(e));
          else
            cut = true;
        };
        auto fail = [&](const std::string& reason) {
          result.errors.push_back(replay_error{seq, std::string{body}, reason});
        };
        std::vector<event> decoded;
        auto reason = detail::decode_batch(body, decoded);
        for (auto& e : decoded)
          add(std::move(e));
        if (!reason.empty())
          fail(reason);
        if (!cut)
          whole = seq;
        result.last_position = whole;
        return !cut && result.events.size() < range.max_count
               && (!has_range || hi < range.to_version);
      });
  };
  auto hinted = range.after_position > 0 && range.after_position < last->seq;
  if (auto err = read(hinted ? range.after_position + 1 : 1))
    return err;
  // A position hint saves reading what comes before it, but it is only a
  // hint (a snapshot's position, say, may come from a server that
  // renumbered after a leader change): if the read after it does not start
  // at the first version asked for, read from the start instead of
  // reporting a gap that is not there.
  if (hinted && result.errors.empty()
      && (result.events.empty()
          || result.events.front().version > range.from_version))
    if (auto err = read(1))
      return err;
  return result;
}

caf::error jetstream_store::delete_events_to(const std::string& actor_id,
                                             int64_t version) {
  if (auto err = validate_actor_id(actor_id))
    return err;
  auto last = read_last(actor_id);
  if (!last)
    return last.error();
  if (last->seq == 0)
    return caf::none;
  auto subject = layout_->event_subject(actor_id);
  uint64_t walk_to = last->seq;
  if (version >= last->version) {
    // Everything goes: a marker keeps the latest version knowable and is
    // the subject's last message from now on.
    jetstream_message m{subject, {}};
    m.set_header(hdr::msg_id, make_uuid());
    m.set_header(hdr::expected_seq, std::to_string(last->seq));
    m.set_header(hdr::version, std::to_string(last->version));
    m.set_header(hdr::deleted_to, std::to_string(last->version));
    auto ack = js_.publish(m);
    if (!ack)
      return prefix_error("cannot mark the deletion of \"" + actor_id + "\"",
                          ack.error());
    cache_->put(actor_id,
                detail::version_entry{last->version, ack->sequence, true});
  }
  std::vector<uint64_t> doomed;
  auto err = js_.read(layout_->event_stream(), subject, 1, walk_to, true,
                      [&](const jetstream_message& m) {
                        auto seq = m.sequence();
                        int64_t hi = 0;
                        int64_t marker = 0;
                        if (m.header_int(hdr::deleted_to, marker)) {
                          // An older marker goes; the subject's last message
                          // stays (it keeps the latest version knowable).
                          if (seq != last->seq || version >= last->version)
                            doomed.push_back(seq);
                          return true;
                        }
                        if (m.header_int(hdr::version, hi) && hi <= version)
                          doomed.push_back(seq);
                        return hi <= version;
                      });
  if (err)
    return err;
  for (auto seq : doomed)
    if (auto err = js_.delete_message(layout_->event_stream(), seq))
      return prefix_error("cannot delete events of \"" + actor_id + "\"", err);
  return caf::none;
}

} // namespace aether
