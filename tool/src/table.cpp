#include "aether/tool/table.hpp"

#include <algorithm>

namespace aether::tool {

table::table(std::vector<std::string> headers, size_t max_cell)
  : headers_(std::move(headers)), max_cell_(std::max<size_t>(max_cell, 4)) {
  // nop
}

void table::add(std::vector<std::string> row) {
  row.resize(headers_.size());
  for (auto& cell : row)
    if (cell.size() > max_cell_)
      cell = cell.substr(0, max_cell_ - 3) + "...";
  rows_.push_back(std::move(row));
}

void table::print(std::ostream& out) const {
  std::vector<size_t> width(headers_.size());
  for (size_t i = 0; i < headers_.size(); ++i)
    width[i] = headers_[i].size();
  for (auto& row : rows_)
    for (size_t i = 0; i < row.size(); ++i)
      width[i] = std::max(width[i], row[i].size());
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (size_t i = 0; i < cells.size(); ++i) {
      text += cells[i];
      if (i + 1 < cells.size())
        text.append(width[i] - cells[i].size() + 2, ' ');
    }
    out << text << '\n';
  };
  line(headers_);
  for (auto& row : rows_)
    line(row);
}

} // namespace aether::tool
