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

/// `<workers> <position>`, both decimal (at most 9 and 18 digits); anything
/// else is corrupt data naming the key.
caf::expected<stored_offset> decode_offset(const kv_entry& e, size_t worker) {
  auto bad = [&] {
    return make_persistence_error(persistence_error::corrupt_data,
                                  "offset \"" + e.key
                                    + "\": the value must be \"<workers> "
                                      "<position>\" (is \""
                                    + e.value + "\")");
  };
  auto space = e.value.find(' ');
  if (space == std::string::npos || space == 0 || space > 9
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

/// A projection's name as KV key tokens: not empty, no empty token.
caf::error check_name(const std::string& name) {
  if (name.empty() || name.front() == '.' || name.back() == '.'
      || name.find("..") != std::string::npos)
    return invalid_field("projection", "a name in a KV offset store must not "
                                       "start or end with '.' or hold "
                                       "\"..\" (\""
                                         + name + "\")");
  return caf::none;
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
    if (k.compare(0, prefix.size(), prefix) == 0 && all_digits(k, prefix.size())
        && k.size() - prefix.size() <= 9)
      out.push_back(k);
  return out;
}

caf::expected<std::vector<stored_offset>>
kv_offset_store::load(const std::string& projection) {
  if (auto err = check_name(projection))
    return err;
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
  if (auto err = check_name(projection))
    return err;
  if (offset.position < 0 || offset.workers == 0
      || offset.worker >= offset.workers)
    return invalid_field("offset", "needs worker < workers and a position "
                                   ">= 0");
  auto key = projection + "." + std::to_string(offset.worker);
  auto value = std::to_string(offset.workers) + " "
               + std::to_string(offset.position);
  // Offsets only move forward: a late save of a node that no longer runs
  // the projection cannot move them back (compare-and-swap on the key's
  // revision; another save in between makes it read again).
  for (int attempt = 1;; ++attempt) {
    auto cur = bucket_->get(key);
    if (!cur)
      return cur.error();
    caf::expected<uint64_t> r{0};
    if (!*cur) {
      r = bucket_->create(key, value);
    } else {
      auto stored = decode_offset(**cur, offset.worker);
      if (stored && stored->workers == offset.workers
          && stored->position >= offset.position)
        return caf::none;
      r = bucket_->update(key, value, (*cur)->revision);
    }
    if (r)
      return caf::none;
    if (!is(r.error(), persistence_error::version_conflict) || attempt == 100)
      return r.error();
  }
}

caf::error kv_offset_store::drop(const std::string& projection) {
  if (auto err = check_name(projection))
    return err;
  auto keys = keys_of(projection);
  if (!keys)
    return keys.error();
  for (auto& k : *keys)
    if (auto err = bucket_->remove(k))
      return err;
  return caf::none;
}

} // namespace aether
