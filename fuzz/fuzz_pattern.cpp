// libFuzzer target: namespace and pattern parsing and matching. The input
// is split at the first newline into a pattern and a subject.
#include "aether/runtime/subject_pattern.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  auto nl = text.find('\n');
  auto pattern = text.substr(0, nl);
  auto subject = nl == std::string_view::npos ? std::string_view{}
                                              : text.substr(nl + 1);
  auto p = aether::subject_pattern::parse(pattern);
  bool subject_ok = !aether::validate_namespace(subject);
  if (p && subject_ok) {
    auto m = p->matches(subject);
    // A literal pattern matches exactly its own text.
    if (p->literal() && m != (subject == pattern))
      std::abort();
  }
  if (p && p->literal() && !aether::validate_namespace(pattern)
      && !p->matches(pattern))
    std::abort();
  return 0;
}
