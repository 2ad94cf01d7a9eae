#include "aether/core/time.hpp"

#include "aether/core/error.hpp"

#include <cstdio>
#include <limits>

namespace aether {

namespace {

// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's
// algorithm).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

caf::error bad_time(std::string_view text, const char* rule) {
  return make_persistence_error(persistence_error::invalid_argument,
                                "timestamp \"" + std::string(text)
                                  + "\" is not RFC 3339: " + rule);
}

bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size())
    return false;
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

} // namespace

timestamp now() {
  return std::chrono::time_point_cast<std::chrono::nanoseconds>(
    std::chrono::system_clock::now());
}

std::string format_rfc3339(timestamp t) {
  using namespace std::chrono;
  auto ns = t.time_since_epoch().count();
  int64_t secs = ns / 1000000000;
  int64_t frac = ns % 1000000000;
  if (frac < 0) {
    frac += 1000000000;
    --secs;
  }
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  if (y >= 0 && y <= 9999) {
    // The common case without snprintf (it dominated encoding profiles).
    auto put = [](char* p, int64_t v, int width) {
      for (int i = width - 1; i >= 0; --i) {
        p[i] = static_cast<char>('0' + v % 10);
        v /= 10;
      }
    };
    char out[32];
    put(out, y, 4);
    out[4] = '-';
    put(out + 5, m, 2);
    out[7] = '-';
    put(out + 8, d, 2);
    out[10] = 'T';
    put(out + 11, rem / 3600, 2);
    out[13] = ':';
    put(out + 14, rem % 3600 / 60, 2);
    out[16] = ':';
    put(out + 17, rem % 60, 2);
    size_t len = 19;
    if (frac != 0) {
      out[19] = '.';
      put(out + 20, frac, 9);
      len = 29;
      while (out[len - 1] == '0')
        --len;
    }
    out[len++] = 'Z';
    return std::string(out, len);
  }
  char buf[64];
  int n = std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02uT%02d:%02d:%02d",
                        static_cast<long long>(y), m, d,
                        static_cast<int>(rem / 3600),
                        static_cast<int>(rem % 3600 / 60),
                        static_cast<int>(rem % 60));
  std::string result(buf, static_cast<size_t>(n));
  if (frac != 0) {
    char fbuf[16];
    std::snprintf(fbuf, sizeof(fbuf), "%09lld", static_cast<long long>(frac));
    std::string f(fbuf);
    while (!f.empty() && f.back() == '0')
      f.pop_back();
    result += '.';
    result += f;
  }
  result += 'Z';
  return result;
}

caf::expected<timestamp> parse_rfc3339(std::string_view s) {
  int y, mo, d, h, mi, sec;
  if (!digits(s, 0, 4, y) || s.size() < 20 || s[4] != '-'
      || !digits(s, 5, 2, mo) || s[7] != '-' || !digits(s, 8, 2, d)
      || (s[10] != 'T' && s[10] != 't') || !digits(s, 11, 2, h) || s[13] != ':'
      || !digits(s, 14, 2, mi) || s[16] != ':' || !digits(s, 17, 2, sec))
    return bad_time(s, "expected YYYY-MM-DDThh:mm:ss");
  // As strict as Go's time.Parse: no second 60, no day past the month's
  // end (Feb 29 only in leap years).
  static constexpr int month_days[] = {31, 28, 31, 30, 31, 30,
                                       31, 31, 30, 31, 30, 31};
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59)
    return bad_time(s, "field out of range");
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d > month_days[mo - 1] + (mo == 2 && leap ? 1 : 0))
    return bad_time(s, "day out of range for its month");
  size_t pos = 19;
  int64_t frac = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t start = pos;
    int64_t scale = 100000000;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (scale > 0) {
        frac += (s[pos] - '0') * scale;
        scale /= 10;
      }
      ++pos;
    }
    if (pos == start)
      return bad_time(s, "no digits after '.'");
  }
  int64_t offset = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':'
        || !digits(s, pos + 4, 2, om))
      return bad_time(s, "bad zone offset");
    if (oh > 23 || om > 59)
      return bad_time(s, "zone offset out of range");
    offset = (oh * 3600 + om * 60) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return bad_time(s, "missing zone (Z or +hh:mm)");
  }
  if (pos != s.size())
    return bad_time(s, "trailing characters");
  // Go's zero time (what the Go aether writes for an unset timestamp) is
  // "no time": aether's zero timestamp.
  if (y == 1 && mo == 1 && d == 1 && h == 0 && mi == 0 && sec == 0 && frac == 0
      && offset == 0)
    return timestamp{};
  int64_t secs = days_from_civil(y, static_cast<unsigned>(mo),
                                 static_cast<unsigned>(d))
                   * 86400
                 + h * 3600 + mi * 60 + sec - offset;
  // Timestamps are int64 nanoseconds since 1970: about 1677-09-21 to
  // 2262-04-11. (Found by fuzzing: year 1013 overflowed.)
  constexpr int64_t limit = std::numeric_limits<int64_t>::max() / 1000000000
                            - 1;
  if (secs > limit || secs < -limit)
    return bad_time(s, "out of range (years 1678 to 2261)");
  return timestamp{std::chrono::nanoseconds{secs * 1000000000 + frac}};
}

} // namespace aether
