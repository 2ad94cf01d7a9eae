#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

namespace aether::tool {

/// When to draw progress bars.
enum class progress_mode {
  /// When standard error is a terminal.
  automatic,
  always,
  never,
};

/// A progress bar for long work (export, import, verify), drawn on `out`
/// (standard error) at most ten times a second and erased by `finish`.
/// Disabled, it draws nothing.
class progress {
public:
  progress(std::ostream& out, std::string label, uint64_t total, bool enabled);

  /// Whether `mode` draws bars, given whether standard error is a terminal.
  static bool enabled(progress_mode mode);

  ~progress();

  /// `n` more units done; `item` names the current one (an actor).
  void advance(uint64_t n, const std::string& item = {});

  /// Draws the final state and ends the line.
  void finish();

private:
  void draw(const std::string& item);

  std::ostream& out_;
  std::string label_;
  uint64_t total_;
  uint64_t done_ = 0;
  bool enabled_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
};

} // namespace aether::tool
