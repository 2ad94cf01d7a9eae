#pragma once

// The one place aether writes log lines: a sink the application sets
// (default: one line per record on stderr), a minimum level, and structured
// fields. Credentials never reach a sink: every message and field value is
// passed through `redact_credentials` first.

#include "aether/core/time.hpp"

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace aether {

enum class log_level { debug, info, warning, error };

const char* to_string(log_level x);

/// One structured field of a record, e.g. {"actor_id", "acc-1"}.
using log_field = std::pair<std::string, std::string>;

struct log_record {
  timestamp time;
  log_level level = log_level::info;
  std::string message;
  /// Structured context: `actor_id`, `namespace`, `cluster`, `node`,
  /// `error` (the error's code name), ...
  std::vector<log_field> fields;
};

/// Receives every record at or above the minimum level, on the thread that
/// logged it (an actor's, an I/O worker's, NATS'): it must be thread-safe
/// and must not block for long.
using log_sink = std::function<void(const log_record&)>;

/// Sets the sink for the whole process; an empty one restores the default
/// (stderr). Safe to call at any time from any thread.
void set_log_sink(log_sink sink);

/// Records below `level` are dropped (default: info).
void set_log_level(log_level level);

/// Logs `message` with `fields` (redacted) to the sink.
void log(log_level level, std::string message,
         std::vector<log_field> fields = {});

/// The default sink's line: `<time> <level> <message> key=value ...`.
std::string format_log_record(const log_record& r);

/// Replaces the user information of URLs in `text` (`nats://user:pw@host`
/// becomes `nats://***@host`) and the values of `token=`, `password=`,
/// `pass=` and `secret=`.
std::string redact_credentials(std::string text);

} // namespace aether
