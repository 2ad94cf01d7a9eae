#include "aether/core/error.hpp"
#include "aether/jetstream/jetstream_store.hpp"
#include "append_pipeline.hpp"
#include "message_headers.hpp"
#include "stream_layout.hpp"
#include "version_cache.hpp"

// Appends: the asynchronous path (a known last sequence, published without
// a read), the blocking path (read first, retry, heads), and the checks
// both share.

namespace aether {

namespace hdr = jetstream_headers;

namespace {

/// The message of one append: the batch (one event: its JSON; several: a
/// JSON array) with the headers that make the server check and deduplicate.
///
/// The server refuses it unless the subject's last message is `last_seq`
/// (single writer). A clustered stream of nats-server 2.9 (Debian 12 ships
/// 2.9.10) checks that against the applied state only, so two appends
/// proposed at the same moment with the same `last_seq` may both be stored
/// (nats-server issue #4320): a forked history. Message deduplication is
/// checked against what the leader has already accepted, so the message id
/// names the slot, not the event: (actor, first version, last_seq). Two
/// writers racing for one slot send the same id and the second is dropped
/// as a duplicate; a later append never reuses a slot, since `last_seq` only
/// grows. The first event's id travels in its own header (retries recognise
/// themselves).
jetstream_message
append_message(const std::string& subject, const std::vector<event>& batch,
               const std::vector<std::string>& encoded, uint64_t last_seq) {
  std::string body;
  if (encoded.size() == 1) {
    body = encoded.front();
  } else {
    body = "[";
    for (size_t i = 0; i < encoded.size(); ++i) {
      if (i > 0)
        body += ',';
      body += encoded[i];
    }
    body += ']';
  }
  jetstream_message m{subject, body};
  auto slot = batch.front().actor_id + "/"
              + std::to_string(batch.front().version) + "/"
              + std::to_string(last_seq);
  m.set_header(hdr::msg_id, slot);
  m.set_header(hdr::first_id, batch.front().id);
  m.set_header(hdr::expected_seq, std::to_string(last_seq));
  m.set_header(hdr::first_version, std::to_string(batch.front().version));
  m.set_header(hdr::version, std::to_string(batch.back().version));
  std::vector<std::string> tags;
  for (auto& ev : batch)
    for (auto& tag : ev.tags())
      tags.push_back(std::move(tag));
  // Always set ("," for none), so that a tag query tells a message without
  // tags from one written before the header existed.
  event joined; // set_tags sorts and deduplicates
  joined.set_tags(std::move(tags));
  auto& value = joined.get_metadata(metadata_keys::tags);
  m.set_header(hdr::tags, value.empty() ? std::string{","} : value);
  return m;
}

/// A failed append, as the one publish classifier saw it (the same for the
/// synchronous and the asynchronous path), described for the actor.
caf::error append_error(const std::string& actor_id, int64_t first,
                        int64_t last, const caf::error& err) {
  if (is(err, persistence_error::unknown_outcome))
    return make_persistence_error(
      persistence_error::unknown_outcome,
      "append of \"" + actor_id + "\" versions " + std::to_string(first) + ".."
        + std::to_string(last) + " got no acknowledgement (" + describe(err)
        + "); it may or may not be stored; retrying with the same event ids "
          "is safe");
  return prefix_error("cannot append to \"" + actor_id + "\"", err);
}

} // namespace

void jetstream_store::append(std::vector<event> batch, append_callback done) {
  auto encoded = prepare_events(batch, opts_.limits);
  if (!encoded) {
    done(encoded.error());
    return;
  }
  pipeline_->submit(detail::append_pipeline::batch{
    std::move(batch), std::move(*encoded), std::move(done)});
}

bool jetstream_store::start_append(const std::vector<event>& batch,
                                   const std::vector<std::string>& encoded,
                                   const append_callback& done,
                                   const std::function<void()>& run_instead) {
  if (heads_)
    return false; // the head is written after the append, blocking
  if (!conn_->connected())
    return false; // the blocking path reports it
  auto& actor_id = batch.front().actor_id;
  auto first = batch.front().version;
  auto last = batch.back().version;
  auto entry = cache_->find(actor_id);
  if (!entry || !entry->seq_known || first != entry->version + 1)
    return false; // needs a read first: the blocking path does it
  auto m = append_message(layout_->event_subject(actor_id), batch, encoded,
                          entry->seq);
  if (check_payload(m, actor_id, first, last))
    return false; // the blocking path refuses it, with the reason
  auto cb = [this, actor_id, first, last, done,
             run_instead](const publish_outcome& ack) {
    if (ack && ack->duplicate) {
      // Another writer took this slot first (see append_message); nothing
      // of ours was stored.
      cache_->erase(actor_id);
      duplicates_refused_ += 1;
      done(make_version_conflict(actor_id, first, first));
    } else if (ack) {
      cache_->put(actor_id, detail::version_entry{last, ack->sequence, true});
      done(append_result{last, ack->sequence});
    } else {
      cache_->erase(actor_id);
      if (is(ack.error(), persistence_error::version_conflict))
        run_instead(); // stale cache or a deletion marker: read, decide
      else
        done(append_error(actor_id, first, last, ack.error()));
    }
  };
  if (js_.publish_async(m, std::move(cb))) {
    ++async_appends_;
    return true;
  }
  return false; // window full or publish refused: the blocking path
}

caf::expected<append_result>
jetstream_store::run_append(const std::vector<event>& batch,
                            const std::vector<std::string>& encoded) {
  auto& actor_id = batch.front().actor_id;
  auto first = batch.front().version;
  auto last = batch.back().version;
  if (!conn_->connected())
    return make_persistence_error(persistence_error::unavailable,
                                  "NATS is not connected; nothing was sent");
  detail::version_entry entry;
  bool cached = false;
  if (auto i = cache_->find(actor_id); i && i->seq_known) {
    entry = *i;
    cached = true;
  } else if (i && first <= i->version) {
    // Raised by another node's notification: fail fast.
    return make_version_conflict(actor_id, first, i->version);
  }
  if (!cached || first > entry.version + 1) {
    auto fresh = read_last(actor_id);
    if (!fresh)
      return fresh.error();
    entry = *fresh;
  }
  if (first != entry.version + 1) {
    if (first <= entry.version && is_own_retry(actor_id, batch))
      return append_result{last, entry.seq};
    return make_version_conflict(actor_id, first, entry.version);
  }
  for (int attempt = 0;; ++attempt) {
    auto m = append_message(layout_->event_subject(actor_id), batch, encoded,
                            entry.seq);
    if (auto err = check_payload(m, actor_id, first, last))
      return err;
    auto ack = js_.publish(m);
    if (ack && ack->duplicate) {
      // The slot is taken: by an earlier attempt of this very append (a retry
      // after an unknown outcome), or by another writer (see append_message).
      cache_->erase(actor_id);
      if (is_own_retry(actor_id, batch))
        return append_result{last, ack->sequence};
      duplicates_refused_ += 1;
      auto fresh = read_last(actor_id);
      return make_version_conflict(actor_id, first,
                                   fresh ? fresh->version : first);
    }
    if (ack) {
      cache_->put(actor_id, detail::version_entry{last, ack->sequence, true});
      write_head(actor_id, last);
      return append_result{last, ack->sequence};
    }
    cache_->erase(actor_id);
    if (is(ack.error(), persistence_error::version_conflict)) {
      auto fresh = read_last(actor_id);
      if (fresh && fresh->version == first - 1 && attempt == 0) {
        // The version is right, only the subject's last sequence moved (a
        // deletion marker written since): append again, once.
        entry = *fresh;
        continue;
      }
      auto current = fresh ? fresh->version : entry.version + 1;
      return make_version_conflict(actor_id, first, current);
    }
    return append_error(actor_id, first, last, ack.error());
  }
}

caf::error jetstream_store::check_payload(const jetstream_message& m,
                                          const std::string& actor_id,
                                          int64_t first, int64_t last) const {
  // The server drops the connection of a client that sends more than its
  // max_payload (headers included): refuse such a batch here, clearly.
  auto max = js_.max_payload();
  auto size = m.wire_size();
  if (max > 0 && size > max)
    return make_persistence_error(
      persistence_error::invalid_argument,
      "events: the batch of \"" + actor_id + "\" (versions "
        + std::to_string(first) + ".." + std::to_string(last) + ") is "
        + std::to_string(size)
        + " bytes with its headers, more than the NATS server's max_payload "
          "of "
        + std::to_string(max) + " bytes; nothing was stored");
  return caf::none;
}

bool jetstream_store::is_own_retry(const std::string& actor_id,
                                   const std::vector<event>& batch) {
  // A retry of an append that did land (after an unknown outcome) finds its
  // own message as the actor's last one: same message id, same versions.
  auto last = last_message(layout_->event_stream(),
                           layout_->event_subject(actor_id),
                           "cannot read the latest event");
  if (!last || !*last)
    return false;
  // The first event's id: its own header, or (messages written before it
  // existed) the message id.
  auto id = last->header(hdr::first_id);
  if (!id)
    id = last->header(hdr::msg_id);
  int64_t lo = 0;
  int64_t hi = 0;
  return id && batch.front().id == *id
         && last->header_int(hdr::first_version, lo)
         && last->header_int(hdr::version, hi) && lo == batch.front().version
         && hi == batch.back().version;
}

} // namespace aether
