#include "stream_layout.hpp"

#include "aether/jetstream/jetstream_store.hpp"

namespace aether {

std::string sanitize_namespace(const std::string& ns) {
  std::string out = ns;
  for (auto& c : out)
    if (c == ' ' || c == '.' || c == '*' || c == '>' || c == '/' || c == '\\'
        || static_cast<unsigned char>(c) < 0x21
        || static_cast<unsigned char>(c) > 0x7E)
      c = '_';
  return out.empty() ? std::string{"default"} : out;
}

std::string subject_token(const std::string& actor_id) {
  std::string out;
  out.reserve(actor_id.size() + 8);
  for (char c : actor_id) {
    if (c == '_')
      out += "_5F";
    else if (c == '.')
      out += "_2E";
    else
      out += c;
  }
  return out;
}

namespace detail {

std::string actor_of_token(const std::string& token) {
  std::string out;
  out.reserve(token.size());
  for (size_t i = 0; i < token.size(); ++i) {
    if (token[i] == '_' && i + 2 < token.size()) {
      auto code = token.substr(i + 1, 2);
      if (code == "5F" || code == "2E") {
        out += code == "5F" ? '_' : '.';
        i += 2;
        continue;
      }
    }
    out += token[i];
  }
  return out;
}

stream_layout::stream_layout(const std::string& ns, const std::string& events,
                             const std::string& snapshots) {
  auto n = sanitize_namespace(ns);
  auto e = sanitize_namespace(events);
  auto s = sanitize_namespace(snapshots);
  events_prefix_ = "aether." + n + "." + e + ".";
  snapshots_prefix_ = "aether." + n + "." + s + ".";
  heads_prefix_ = "aether." + n + "." + e + "_heads.";
  event_stream_ = n + "_" + e;
  snapshot_stream_ = n + "_" + s;
  heads_stream_ = event_stream_ + "_heads";
}

std::string stream_layout::event_subject(const std::string& actor_id) const {
  return events_prefix_ + subject_token(actor_id);
}

std::string stream_layout::snapshot_subject(const std::string& actor_id) const {
  return snapshots_prefix_ + subject_token(actor_id);
}

std::string stream_layout::head_subject(const std::string& actor_id) const {
  return heads_prefix_ + subject_token(actor_id);
}

std::string stream_layout::event_filter() const {
  return events_prefix_ + ">";
}

std::string stream_layout::snapshot_filter() const {
  return snapshots_prefix_ + ">";
}

std::string stream_layout::heads_filter() const {
  return heads_prefix_ + ">";
}

} // namespace detail

} // namespace aether
