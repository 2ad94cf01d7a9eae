#include "aether/core/error.hpp"
#include "aether/jetstream/jetstream_store.hpp"
#include "batch_body.hpp"
#include "message_headers.hpp"
#include "query_cursors.hpp"
#include "stream_layout.hpp"

#include <algorithm>

// The queries in the global order: the event stream read with an ordered
// consumer, each message's events numbered by (stream sequence, index).

namespace aether {

namespace hdr = jetstream_headers;

namespace {

constexpr uint64_t whole_message = (uint64_t{1} << jetstream_index_bits) - 1;

bool names_tag(const std::string& joined, const std::string& tag) {
  size_t start = 0;
  while (start <= joined.size()) {
    auto end = joined.find(',', start);
    if (end == std::string::npos)
      end = joined.size();
    if (joined.compare(start, end - start, tag) == 0)
      return true;
    start = end + 1;
  }
  return false;
}

bool has_tag(const event& ev, const std::string& tag) {
  auto tags = ev.tags();
  return std::binary_search(tags.begin(), tags.end(), tag);
}

} // namespace

caf::expected<query_page> jetstream_store::read_query(const std::string* tag,
                                                      int64_t after_position,
                                                      size_t max_count) {
  after_position = std::max<int64_t>(after_position, 0);
  query_page page;
  page.next_after = after_position;
  auto info = js_.info(layout_->event_stream());
  if (!info)
    return info.error();
  auto after_seq = static_cast<uint64_t>(after_position)
                   >> jetstream_index_bits;
  auto after_index = static_cast<uint64_t>(after_position) & whole_message;
  // The message holding `after_position` may have events after it.
  auto start = after_position == 0            ? uint64_t{1}
               : after_index == whole_message ? after_seq + 1
                                              : after_seq;
  start = std::max(start, info->first_seq);
  if (info->messages == 0 || start > info->last_seq) {
    page.at_end = true;
    if (info->last_seq > 0)
      page.next_after = std::max(
        page.next_after, jetstream_position(info->last_seq, whole_message));
    return page;
  }
  if (max_count == 0)
    return page;
  auto last_seq = info->last_seq;
  // Go on with the reader of the read that stopped at `after_position`, or
  // open one at `start`.
  auto key = tag != nullptr ? *tag : std::string{};
  auto c = cursors_->take(key, after_position);
  // A message deleted (delete_events_to, here or on another node) or
  // expired (stream limits) since the cursor's last read may sit in its
  // reader's buffer: such a cursor is not used. Unsigned-safe form of
  // "messages grew by exactly the sequences added".
  if (c && info->messages + c->last_seq != c->messages + info->last_seq)
    c.reset();
  if (!c) {
    auto reader = js_.open_reader(layout_->event_stream(),
                                  layout_->event_filter(), start);
    if (!reader)
      return reader.error();
    cursors_->count_opened();
    c = std::make_unique<detail::query_cursors::cursor>();
    c->reader = std::move(*reader);
    c->tag = key;
  }
  // What a message read means for the page: read on, stop after it, stop
  // before handing all of it out (keep it for the next read), or stop at a
  // record that does not decode.
  enum class step { next, stop, hold, fail };
  auto handle = [&](const jetstream_message& m) {
    auto seq = m.sequence();
    auto passed = [&] {
      page.next_after = std::max(page.next_after,
                                 jetstream_position(seq, whole_message));
      if (seq >= last_seq)
        page.at_end = true;
      return page.at_end ? step::stop : step::next;
    };
    int64_t marker = 0;
    if (m.header_int(hdr::deleted_to, marker))
      return passed();
    if (tag != nullptr) {
      // Messages written before tags had a header have none: decoded.
      auto tags = m.header(hdr::tags);
      if (tags && !names_tag(*tags, *tag))
        return passed();
    }
    auto body = m.data();
    std::vector<event> events;
    auto reason = detail::decode_batch(body, events);
    if (!reason.empty()) {
      page.error = replay_error{
        static_cast<uint64_t>(jetstream_position(seq, whole_message)),
        std::string{body}, std::move(reason)};
      return step::fail;
    }
    for (size_t i = 0; i < events.size(); ++i) {
      auto position = jetstream_position(seq, i);
      if (position <= after_position)
        continue;
      if (tag != nullptr && !has_tag(events[i], *tag))
        continue;
      if (page.events.size() == max_count)
        return step::hold;
      page.next_after = position;
      page.events.push_back(positioned_event{position, std::move(events[i])});
    }
    auto next = passed();
    return next == step::next && page.events.size() == max_count ? step::stop
                                                                 : next;
  };
  for (;;) {
    jetstream_message m;
    if (c->held) {
      m = std::move(c->held);
    } else {
      auto got = c->reader->next();
      if (!got)
        return got.error(); // the reader is closed with `c`
      m = std::move(*got);
      ++messages_read_;
    }
    auto next = handle(m);
    if (next == step::next)
      continue;
    if (next == step::fail)
      return page; // a reader past a bad record is not kept
    if (next == step::hold)
      c->held = std::move(m);
    c->after = page.next_after;
    c->messages = info->messages;
    c->last_seq = info->last_seq;
    cursors_->give(std::move(c));
    return page;
  }
}

caf::expected<query_page>
jetstream_store::events_by_namespace(int64_t after_position, size_t max_count) {
  return read_query(nullptr, after_position, max_count);
}

caf::expected<query_page> jetstream_store::events_by_tag(const std::string& tag,
                                                         int64_t after_position,
                                                         size_t max_count) {
  if (auto err = validate_tag(tag))
    return err;
  return read_query(&tag, after_position, max_count);
}

uint64_t jetstream_store::query_readers_opened() const {
  return cursors_->opened();
}

caf::expected<int64_t> jetstream_store::highest_position() {
  auto info = js_.info(layout_->event_stream());
  if (!info)
    return info.error();
  return info->last_seq == 0
           ? int64_t{0}
           : jetstream_position(info->last_seq, whole_message);
}

int64_t jetstream_store::events_between(int64_t after, int64_t upto) const {
  auto a = std::max<int64_t>(after, 0) >> jetstream_index_bits;
  auto b = std::max<int64_t>(upto, 0) >> jetstream_index_bits;
  return b > a ? b - a : 0;
}

} // namespace aether
