#include "aether/cluster/routed_message.hpp"

#include "aether/core/error.hpp"

#include <caf/actor_system.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/detail/pretty_type_name.hpp>
#include <vector>

namespace aether {

namespace {

constexpr char magic = '\xae';
constexpr char frame_version = 1;
constexpr char kind_request = 'Q';
constexpr char kind_reply = 'R';

caf::error malformed(const std::string& what) {
  return make_persistence_error(persistence_error::invalid_argument,
                                "malformed routed message: " + what);
}

void put_string(std::vector<char>& out, const std::string& x) {
  auto n = static_cast<uint16_t>(x.size());
  out.push_back(static_cast<char>(n >> 8));
  out.push_back(static_cast<char>(n & 0xff));
  out.insert(out.end(), x.begin(), x.end());
}

bool get_string(const std::string& in, size_t& pos, std::string& x) {
  if (in.size() - pos < 2)
    return false;
  auto n = static_cast<size_t>((static_cast<unsigned char>(in[pos]) << 8)
                               | static_cast<unsigned char>(in[pos + 1]));
  pos += 2;
  if (in.size() - pos < n)
    return false;
  x = in.substr(pos, n);
  pos += n;
  return true;
}

/// The first element of `msg` the system cannot name on the wire (not
/// announced), as "element N (type)".
std::string unannounced(caf::actor_system& sys, const caf::message& msg) {
  for (size_t i = 0; i < msg.size(); ++i) {
    auto t = msg.type(i);
    if (sys.types().portable_name(t) == "???")
      return "element " + std::to_string(i) + " ("
             + (t.second ? caf::detail::pretty_type_name(*t.second)
                         : std::string{"unknown"})
             + ")";
  }
  return {};
}

bool check_header(const std::string& in, char kind) {
  return in.size() >= 3 && in[0] == magic && in[1] == frame_version
         && in[2] == kind;
}

} // namespace

caf::expected<std::string>
encode_request(caf::actor_system& sys, const std::string& type,
               const std::string& id, const caf::message& content) {
  if (type.size() > 0xffff || id.size() > 0xffff)
    return make_persistence_error(persistence_error::invalid_argument,
                                  "entity type and id: at most 65535 bytes");
  auto odd = unannounced(sys, content);
  if (!odd.empty())
    return make_persistence_error(
      persistence_error::invalid_argument,
      "cannot route the message to \"" + type + "/" + id + "\": " + odd
        + " is not announced to the actor system (add_message_type on every "
          "node)");
  std::vector<char> buf{magic, frame_version, kind_request};
  put_string(buf, type);
  put_string(buf, id);
  caf::binary_serializer sink{sys, buf};
  if (auto err = sink(const_cast<caf::message&>(content)))
    return make_persistence_error(
      persistence_error::invalid_argument,
      "cannot route " + caf::to_string(content)
        + ": a type of the message is not announced to the actor system "
          "(add_message_type on every node): "
        + sys.render(err));
  return std::string{buf.begin(), buf.end()};
}

caf::expected<routed_request> decode_request(caf::actor_system& sys,
                                             const std::string& frame) {
  if (!check_header(frame, kind_request))
    return malformed("not an aether request frame");
  size_t pos = 3;
  routed_request x;
  if (!get_string(frame, pos, x.type) || !get_string(frame, pos, x.id))
    return malformed("truncated type or id");
  caf::binary_deserializer source{sys, frame.data() + pos, frame.size() - pos};
  if (auto err = source(x.content))
    return malformed("cannot read the message: " + sys.render(err));
  if (source.remaining() != 0)
    return malformed(std::to_string(source.remaining())
                     + " bytes after the message");
  return x;
}

std::string encode_reply(caf::actor_system& sys, const routed_reply& reply) {
  std::vector<char> buf{magic, frame_version, kind_reply,
                        static_cast<char>(reply.status)};
  auto size = buf.size();
  caf::binary_serializer sink{sys, buf};
  caf::error err;
  auto odd = reply.status == reply_status::ok ? unannounced(sys, reply.content)
                                              : std::string{};
  if (!odd.empty())
    err = make_persistence_error(persistence_error::invalid_argument,
                                 odd + " of the answer");
  else
    switch (reply.status) {
      case reply_status::ok:
        err = sink(const_cast<caf::message&>(reply.content));
        break;
      case reply_status::error:
      case reply_status::not_owner:
        err = sink(const_cast<caf::error&>(reply.err));
        break;
    }
  if (err) {
    buf.resize(size);
    buf[3] = static_cast<char>(reply_status::error);
    auto text = make_persistence_error(
      persistence_error::invalid_argument,
      "the answer cannot be sent back: a type of it is not announced to the "
      "actor system (add_message_type on every node): "
        + describe(err));
    caf::binary_serializer again{sys, buf};
    again(text);
  }
  return std::string{buf.begin(), buf.end()};
}

caf::expected<routed_reply> decode_reply(caf::actor_system& sys,
                                         const std::string& frame) {
  if (!check_header(frame, kind_reply) || frame.size() < 4)
    return malformed("not an aether reply frame");
  routed_reply x;
  auto status = static_cast<uint8_t>(frame[3]);
  if (status > static_cast<uint8_t>(reply_status::not_owner))
    return malformed("unknown reply status " + std::to_string(status));
  x.status = static_cast<reply_status>(status);
  caf::binary_deserializer source{sys, frame.data() + 4, frame.size() - 4};
  auto err = x.status == reply_status::ok ? source(x.content) : source(x.err);
  if (err)
    return malformed("cannot read the answer: " + sys.render(err));
  return x;
}

} // namespace aether
