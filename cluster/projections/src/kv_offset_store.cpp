#include "aether/cluster_projections/kv_offset_store.hpp"

#include "aether/core/error.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace aether {

namespace {

bool all_digits(const std::string& s, size_t from) {
  return from < s.size()
         && std::all_of(s.begin() + static_cast<std::ptrdiff_t>(from), s.end(),
                        [](char c) {
                          return std::isdigit(static_cast<unsigned char>(c));
                        });
}

/// `<workers> <position>`, both decimal; anything else is corrupt data
/// naming the key.
caf::expected<stored_offset> decode_offset(const kv_entry& e, size_t worker) {
  auto bad = [&] {
    return make_persistence_error(persistence_error::corrupt_data,
                                  "offset \"" + e.key
                                    + "\": the value must be \"<workers> "
                                      "<position>\" (is \""
                                    + e.value + "\")");
  };
  auto space = e.value.find(' ');
  if (space == std::string::npos || space == 0
      || !all_digits(e.value.substr(0, space), 0)
      || !all_digits(e.value, space + 1) || e.value.size() - space > 19)
    return bad();
  stored_offset out;
  out.worker = worker;
  out.workers = std::strtoull(e.value.c_str(), nullptr, 10);
  out.position = std::strtoll(e.value.c_str() + space + 1, nullptr, 10);
  if (out.workers == 0 || worker >= out.workers)
    return bad();
  return out;
}

} // namespace

caf::expected<std::unique_ptr<kv_offset_store>>
kv_offset_store::open(std::shared_ptr<nats_connection> conn, options opts) {
  auto bucket = kv_bucket::open(std::move(conn),
                                {opts.bucket, std::chrono::milliseconds{0},
                                 opts.replicas});
  if (!bucket)
    return bucket.error();
  return std::unique_ptr<kv_offset_store>{
    new kv_offset_store(std::move(*bucket))};
}

kv_offset_store::kv_offset_store(std::unique_ptr<kv_bucket> bucket)
  : bucket_(std::move(bucket)) {
  // nop
}

caf::expected<std::vector<std::string>>
kv_offset_store::keys_of(const std::string& name) {
  auto keys = bucket_->keys();
  if (!keys)
    return keys.error();
  // "a.0" belongs to "a", "a.b.0" to "a.b": the rest after the name's dot
  // is the worker's number.
  std::vector<std::string> out;
  auto prefix = name + ".";
  for (auto& k : *keys)
    if (k.compare(0, prefix.size(), prefix) == 0
        && all_digits(k, prefix.size()))
      out.push_back(k);
  return out;
}

caf::expected<std::vector<stored_offset>>
kv_offset_store::load(const std::string& projection) {
  auto keys = keys_of(projection);
  if (!keys)
    return keys.error();
  std::vector<stored_offset> out;
  for (auto& k : *keys) {
    auto e = bucket_->get(k);
    if (!e)
      return e.error();
    if (!*e)
      continue; // deleted
    auto worker = std::strtoull(k.c_str() + projection.size() + 1, nullptr, 10);
    auto x = decode_offset(**e, worker);
    if (!x)
      return x.error();
    out.push_back(*x);
  }
  std::sort(out.begin(), out.end(), [](auto& x, auto& y) {
    return x.worker < y.worker;
  });
  return out;
}

caf::error kv_offset_store::save(const std::string& projection,
                                 const stored_offset& offset) {
  if (offset.position < 0 || offset.workers == 0
      || offset.worker >= offset.workers)
    return invalid_field("offset", "needs worker < workers and a position "
                                   ">= 0");
  auto r = bucket_->put(projection + "." + std::to_string(offset.worker),
                        std::to_string(offset.workers) + " "
                          + std::to_string(offset.position));
  if (!r)
    return r.error();
  return caf::none;
}

caf::error kv_offset_store::drop(const std::string& projection) {
  auto keys = keys_of(projection);
  if (!keys)
    return keys.error();
  for (auto& k : *keys)
    if (auto err = bucket_->remove(k))
      return err;
  return caf::none;
}

} // namespace aether
