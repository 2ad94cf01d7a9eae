#pragma once

// The headers of the messages jetstream_store writes (see
// docs/stores.md, "JetStream layout").
namespace aether::jetstream_headers {

/// The server's deduplication id (an append's slot, see append_message).
constexpr const char* msg_id = "Nats-Msg-Id";
/// The server refuses the message unless the subject's last sequence is
/// this one (single writer per actor).
constexpr const char* expected_seq = "Nats-Expected-Last-Subject-Sequence";
/// The first and last version of the events in a message.
constexpr const char* first_version = "Aether-First-Version";
constexpr const char* version = "Aether-Version";
/// A deletion marker: the events up to this version were deleted.
constexpr const char* deleted_to = "Aether-Deleted-To";
/// A snapshot's time (ns since the epoch).
constexpr const char* time = "Aether-Time";
/// The id of the first event of an append (retries recognise themselves).
constexpr const char* first_id = "Aether-First-Id";

/// The tags of the events in a message, comma-separated, "," for none (tag
/// queries skip a message without theirs, without decoding it).
constexpr const char* tags = "Aether-Tags";

} // namespace aether::jetstream_headers
