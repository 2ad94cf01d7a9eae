#include "aether/testkit/temp_dir.hpp"

#include <random>

namespace aether::testkit {

temp_dir::temp_dir() {
  std::random_device rd;
  auto base = std::filesystem::temp_directory_path();
  do {
    path_ = base / ("aether-test-" + std::to_string(rd()));
  } while (!std::filesystem::create_directory(path_));
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string temp_dir::file(const std::string& name) const {
  return (path_ / name).string();
}

} // namespace aether::testkit
