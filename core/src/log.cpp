#include "aether/core/log.hpp"

#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>
#include <regex>

namespace aether {

namespace {

std::mutex& sink_mutex() {
  static std::mutex instance;
  return instance;
}

std::shared_ptr<const log_sink>& sink_slot() {
  static std::shared_ptr<const log_sink> instance;
  return instance;
}

std::atomic<int>& min_level() {
  static std::atomic<int> instance{static_cast<int>(log_level::info)};
  return instance;
}

} // namespace

const char* to_string(log_level x) {
  switch (x) {
    case log_level::debug: return "debug";
    case log_level::info: return "info";
    case log_level::warning: return "warning";
    case log_level::error: return "error";
  }
  return "?";
}

void set_log_sink(log_sink sink) {
  std::shared_ptr<const log_sink> next;
  if (sink)
    next = std::make_shared<const log_sink>(std::move(sink));
  std::lock_guard<std::mutex> guard{sink_mutex()};
  sink_slot() = std::move(next);
}

void set_log_level(log_level level) {
  min_level() = static_cast<int>(level);
}

void log(log_level level, std::string message, std::vector<log_field> fields) {
  if (static_cast<int>(level) < min_level().load())
    return;
  log_record r;
  r.time = now();
  r.level = level;
  r.message = redact_credentials(std::move(message));
  for (auto& f : fields)
    f.second = redact_credentials(std::move(f.second));
  r.fields = std::move(fields);
  std::shared_ptr<const log_sink> sink;
  {
    std::lock_guard<std::mutex> guard{sink_mutex()};
    sink = sink_slot();
  }
  if (sink) {
    try {
      (*sink)(r);
    } catch (...) {
      // A sink that throws loses its record; the caller goes on.
    }
    return;
  }
  auto line = format_log_record(r) + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
}

std::string format_log_record(const log_record& r) {
  std::string out = format_rfc3339(r.time);
  out += ' ';
  out += to_string(r.level);
  out += ' ';
  out += r.message;
  for (auto& [key, value] : r.fields) {
    out += ' ';
    out += key;
    out += '=';
    if (value.find_first_of(" \"") == std::string::npos) {
      out += value;
    } else {
      out += '"';
      for (auto c : value)
        out += c == '"' ? std::string{"\\\""} : std::string(1, c);
      out += '"';
    }
  }
  return out;
}

std::string redact_credentials(std::string text) {
  static const std::regex userinfo{R"(([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@)"};
  static const std::regex secret{R"(((?:token|password|pass|secret)=)[^&\s]+)",
                                 std::regex::icase};
  text = std::regex_replace(text, userinfo, "$1***@");
  return std::regex_replace(text, secret, "$1***");
}

} // namespace aether
