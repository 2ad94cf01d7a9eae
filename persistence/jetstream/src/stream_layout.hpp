#pragma once

#include <string>

namespace aether::detail {

/// Where jetstream_store keeps what: the names of its streams and the
/// subject of each actor in them, from the store's namespace and stream
/// names (each sanitized into one subject token).
/// The actor id a subject token names (the inverse of the token an
/// actor's subjects end with: `_5F` is `_`, `_2E` is `.`).
std::string actor_of_token(const std::string& token);

class stream_layout {
public:
  stream_layout(const std::string& ns, const std::string& events,
                const std::string& snapshots);

  const std::string& event_stream() const {
    return event_stream_;
  }

  const std::string& snapshot_stream() const {
    return snapshot_stream_;
  }

  /// With event limits: one head message per actor (its latest version).
  const std::string& heads_stream() const {
    return heads_stream_;
  }

  std::string event_subject(const std::string& actor_id) const;
  std::string snapshot_subject(const std::string& actor_id) const;
  std::string head_subject(const std::string& actor_id) const;

  /// The subjects of each stream (`aether.<ns>.<stream>.>`).
  std::string event_filter() const;
  std::string snapshot_filter() const;
  std::string heads_filter() const;

private:
  std::string events_prefix_;    // aether.<ns>.<events>.
  std::string snapshots_prefix_; // aether.<ns>.<snapshots>.
  std::string heads_prefix_;     // aether.<ns>.<events>_heads.
  std::string event_stream_;
  std::string snapshot_stream_;
  std::string heads_stream_;
};

} // namespace aether::detail
