#include "aether/tool/progress.hpp"

#include <algorithm>
#include <unistd.h>

namespace aether::tool {

progress::progress(std::ostream& out, std::string label, uint64_t total,
                   bool enabled)
  : out_(out), label_(std::move(label)), total_(total), enabled_(enabled) {
  // nop
}

bool progress::enabled(progress_mode mode) {
  switch (mode) {
    case progress_mode::always: return true;
    case progress_mode::never: return false;
    default: return isatty(STDERR_FILENO) == 1;
  }
}

progress::~progress() {
  finish();
}

void progress::advance(uint64_t n, const std::string& item) {
  done_ += n;
  if (!enabled_)
    return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds{100})
    return;
  last_draw_ = now;
  draw(item);
}

void progress::draw(const std::string& item) {
  constexpr size_t width = 30;
  auto filled = total_ == 0 ? width
                            : static_cast<size_t>(
                              width * std::min(done_, total_) / total_);
  std::string bar(filled, '#');
  bar.append(width - filled, ' ');
  out_ << '\r' << label_ << " [" << bar << "] " << done_ << '/' << total_;
  if (!item.empty())
    out_ << ' ' << item.substr(0, 30);
  out_ << "\x1b[K" << std::flush; // erase the rest of the line
}

void progress::finish() {
  if (!enabled_ || finished_)
    return;
  finished_ = true;
  draw({});
  out_ << '\n' << std::flush;
}

} // namespace aether::tool
