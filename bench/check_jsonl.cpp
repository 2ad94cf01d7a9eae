// Checks benchmark output: every line on stdin is a JSON object with a
// "scenario" string, and there are at least <min-lines> of them. Used by the
// smoke test of `aether-bench --quick` (which checks the output, not speed).
//
//   aether-bench --quick | check_jsonl <min-lines>
#include <boost/json.hpp>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
  long want = argc > 1 ? std::stol(argv[1]) : 1;
  long lines = 0;
  for (std::string line; std::getline(std::cin, line);) {
    ++lines;
    boost::system::error_code ec;
    auto v = boost::json::parse(line, ec);
    if (ec || !v.is_object() || !v.as_object().contains("scenario")
        || !v.as_object().at("scenario").is_string()) {
      std::cerr << "line " << lines << " is not a scenario object: " << line
                << "\n";
      return 1;
    }
    std::cout << v.as_object().at("scenario").as_string() << ": ok\n";
  }
  if (lines < want) {
    std::cerr << "expected at least " << want << " lines, got " << lines
              << "\n";
    return 1;
  }
  return 0;
}
