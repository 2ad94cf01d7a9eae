#pragma once

#include <filesystem>
#include <string>

namespace aether::testkit {

/// A fresh folder under the system's temp dir, removed with everything in it
/// when the object goes away.
class temp_dir {
public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const {
    return path_;
  }

  /// The path of `name` in the folder.
  std::string file(const std::string& name) const;

private:
  std::filesystem::path path_;
};

} // namespace aether::testkit
