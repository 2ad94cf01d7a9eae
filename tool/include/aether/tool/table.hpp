#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace aether::tool {

/// A table for people: a header row, then rows, columns padded to their
/// widest cell. Cells longer than `max_cell` are cut with `...`.
class table {
public:
  explicit table(std::vector<std::string> headers, size_t max_cell = 60);

  void add(std::vector<std::string> row);

  size_t rows() const {
    return rows_.size();
  }

  void print(std::ostream& out) const;

private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
  size_t max_cell_;
};

} // namespace aether::tool
