#include "aether/runtime/subject_pattern.hpp"

#include "aether/core/error.hpp"

namespace aether {

namespace {

constexpr size_t max_length = 255;

caf::error invalid(std::string_view what, std::string_view text,
                   const std::string& rule) {
  std::string shown{text.substr(0, 64)};
  for (auto& c : shown)
    if (static_cast<unsigned char>(c) < 0x21
        || static_cast<unsigned char>(c) > 0x7e)
      c = '?';
  return make_persistence_error(persistence_error::invalid_argument,
                                std::string{what} + " \"" + shown
                                  + (text.size() > 64 ? "...\"" : "\"") + ": "
                                  + rule);
}

// Splits on '.', checking the characters. Returns an error text or "".
std::string split(std::string_view text, std::vector<std::string>& out) {
  if (text.empty())
    return "must not be empty";
  if (text.size() > max_length)
    return "must be at most 255 bytes";
  std::string token;
  for (auto c : text) {
    auto u = static_cast<unsigned char>(c);
    if (c == '.') {
      if (token.empty())
        return "tokens between dots must not be empty";
      out.push_back(std::move(token));
      token.clear();
      continue;
    }
    if (u < 0x21 || u > 0x7e)
      return "only printable ASCII without whitespace is allowed";
    token.push_back(c);
  }
  if (token.empty())
    return "tokens between dots must not be empty";
  out.push_back(std::move(token));
  return {};
}

} // namespace

caf::error validate_namespace(std::string_view ns) {
  std::vector<std::string> tokens;
  auto rule = split(ns, tokens);
  if (!rule.empty())
    return invalid("namespace", ns, rule);
  for (auto& t : tokens)
    if (t == "*" || t == ">")
      return invalid("namespace", ns,
                     "wildcards (* and >) are for subscriptions, not for "
                     "publishing");
  return caf::none;
}

caf::expected<subject_pattern> subject_pattern::parse(std::string_view text) {
  subject_pattern result;
  auto rule = split(text, result.tokens_);
  if (!rule.empty())
    return invalid("pattern", text, rule);
  for (size_t i = 0; i < result.tokens_.size(); ++i) {
    auto& t = result.tokens_[i];
    if (t == ">" && i + 1 != result.tokens_.size())
      return invalid("pattern", text, "> must be the last token");
    if (t == "*" || t == ">")
      result.literal_ = false;
  }
  result.text_ = std::string{text};
  return result;
}

bool subject_pattern::matches(std::string_view subject) const {
  size_t pos = 0;
  for (size_t i = 0; i < tokens_.size(); ++i) {
    if (pos > subject.size())
      return false;
    auto& t = tokens_[i];
    if (t == ">")
      return pos < subject.size(); // one or more trailing tokens
    auto dot = subject.find('.', pos);
    auto end = dot == std::string_view::npos ? subject.size() : dot;
    auto token = subject.substr(pos, end - pos);
    if (token.empty())
      return false;
    if (t != "*" && token != t)
      return false;
    pos = end + 1; // past the dot (or past the end)
  }
  return pos > subject.size(); // consumed every token of the subject
}

} // namespace aether
