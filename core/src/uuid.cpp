#include "aether/core/uuid.hpp"

#include <cstdint>
#include <random>

namespace aether {

std::string make_uuid() {
  thread_local std::mt19937_64 gen{[] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd()};
    std::mt19937_64 g(seq);
    return g;
  }()};
  uint64_t hi = gen();
  uint64_t lo = gen();
  hi = (hi & 0xFFFFFFFFFFFF0FFFull) | 0x0000000000004000ull; // version 4
  lo = (lo & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull; // variant 1
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  auto put = [&](uint64_t v, int from_bit, int nibbles) {
    for (int i = 0; i < nibbles; ++i)
      out += hex[(v >> (from_bit - 4 * (i + 1))) & 0xF];
  };
  put(hi, 64, 8);
  out += '-';
  put(hi, 32, 4);
  out += '-';
  put(hi, 16, 4);
  out += '-';
  put(lo, 64, 4);
  out += '-';
  put(lo, 48, 12);
  return out;
}

} // namespace aether
