// Checks that every code block in the docs that is marked
//   <!-- snippet: path/to/file -->
// right before its opening fence appears verbatim in that file, so the docs
// quote code that compiles (the files are built and run as tests).
//
//   snippet_check <repo root> <doc.md>...
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

namespace {

std::string read(const std::string& path) {
  std::ifstream in{path};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: snippet_check <root> <doc.md>...\n";
    return 2;
  }
  std::string root = argv[1];
  int checked = 0;
  int failed = 0;
  const std::string marker = "<!-- snippet: ";
  for (int i = 2; i < argc; ++i) {
    auto doc = read(root + "/" + argv[i]);
    size_t pos = 0;
    while ((pos = doc.find(marker, pos)) != std::string::npos) {
      auto end = doc.find(" -->", pos);
      auto file = doc.substr(pos + marker.size(), end - pos - marker.size());
      auto fence = doc.find("```", end);
      auto body_start = doc.find('\n', fence) + 1;
      auto body_end = doc.find("\n```", body_start);
      auto body = doc.substr(body_start, body_end - body_start + 1);
      auto source = read(root + "/" + file);
      ++checked;
      if (source.empty() || source.find(body) == std::string::npos) {
        ++failed;
        std::cerr << argv[i] << ": snippet from " << file
                  << " does not match the file:\n"
                  << body << "\n";
      }
      pos = body_end;
    }
  }
  std::cout << checked << " snippets checked, " << failed << " differ\n";
  return failed == 0 && checked > 0 ? 0 : 1;
}
