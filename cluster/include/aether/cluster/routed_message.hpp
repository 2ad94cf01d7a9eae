#pragma once

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/message.hpp>
#include <cstdint>
#include <string>

namespace aether {

/// A request routed to a shard's owner over NATS: the entity's type and id
/// and the message, serialized with CAF's binary serializer. Every element
/// type must be known to the actor systems on both sides (CAF's built-in
/// types, or announced with `add_message_type`).
struct routed_request {
  std::string type;
  std::string id;
  caf::message content;
};

/// Frames a request. Fails with `invalid_argument` when the message holds a
/// type the actor system cannot serialize (not announced), naming it.
caf::expected<std::string>
encode_request(caf::actor_system& sys, const std::string& type,
               const std::string& id, const caf::message& content);

/// Reads a request frame; a malformed one fails with `invalid_argument`
/// saying what is wrong.
caf::expected<routed_request> decode_request(caf::actor_system& sys,
                                             const std::string& frame);

/// What the owner answers.
enum class reply_status : uint8_t {
  /// The entity's answer (a message).
  ok = 0,
  /// The entity's (or the owner's) error.
  error = 1,
  /// The receiver does not own the shard (any more): not delivered, the
  /// sender tries again.
  not_owner = 2,
};

struct routed_reply {
  reply_status status = reply_status::ok;
  caf::message content;
  caf::error err;
};

/// Frames an answer. An answer the system cannot serialize becomes an
/// `error` reply saying so.
std::string encode_reply(caf::actor_system& sys, const routed_reply& reply);

caf::expected<routed_reply> decode_reply(caf::actor_system& sys,
                                         const std::string& frame);

} // namespace aether
