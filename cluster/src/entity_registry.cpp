#include "entity_registry.hpp"

#include "aether/core/error.hpp"

#include <boost/json.hpp>

namespace aether {

namespace {

std::string key_of(uint32_t shard) {
  return "shard." + std::to_string(shard);
}

} // namespace

caf::expected<std::unique_ptr<entity_registry>>
entity_registry::open(std::shared_ptr<nats_connection> conn,
                      const std::string& cluster, int replicas) {
  auto bucket = kv_bucket::open(std::move(conn),
                                {"aether_entities_" + cluster,
                                 std::chrono::milliseconds{0}, replicas});
  if (!bucket)
    return bucket.error();
  std::unique_ptr<entity_registry> r{new entity_registry};
  r->bucket_ = std::move(*bucket);
  r->thread_ = std::thread{[p = r.get()] {
    p->run();
  }};
  return r;
}

entity_registry::~entity_registry() {
  stop();
}

void entity_registry::stop() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

void entity_registry::remember(uint32_t shard, entity_name name) {
  queue(shard, std::move(name), true);
}

void entity_registry::forget(uint32_t shard, entity_name name) {
  queue(shard, std::move(name), false);
}

void entity_registry::queue(uint32_t shard, entity_name name, bool running) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto& d = queued_[shard];
    // The last change of a name wins.
    (running ? d.remove : d.add).erase(name);
    (running ? d.add : d.remove).insert(std::move(name));
    ++queued_count_;
  }
  cv_.notify_all();
}

bool entity_registry::flush(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> guard{mtx_};
  auto target = queued_count_;
  return cv_.wait_until(guard, deadline, [&] {
    return done_count_ >= target || stop_;
  });
}

uint64_t entity_registry::failed_writes() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return failed_;
}

caf::expected<std::vector<entity_name>>
entity_registry::recall(uint32_t shard) {
  auto entry = bucket_->get(key_of(shard));
  if (!entry)
    return entry.error();
  if (!*entry)
    return std::vector<entity_name>{};
  auto names = decode((*entry)->value);
  if (!names)
    return names.error();
  return std::vector<entity_name>{names->begin(), names->end()};
}

void entity_registry::run() {
  for (;;) {
    std::map<uint32_t, delta> work;
    uint64_t taken = 0;
    {
      std::unique_lock<std::mutex> guard{mtx_};
      cv_.wait(guard, [this] {
        return stop_ || !queued_.empty();
      });
      if (stop_)
        return;
      work.swap(queued_);
      taken = queued_count_;
    }
    uint64_t failed = 0;
    for (auto& [shard, d] : work)
      if (!write(shard, d))
        ++failed;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      done_count_ = taken;
      failed_ += failed;
    }
    cv_.notify_all();
  }
}

bool entity_registry::write(uint32_t shard, const delta& d) {
  auto key = key_of(shard);
  // A lost compare-and-swap means another node wrote the shard's entry in
  // between (it owns the shard now, or did): read again, apply again.
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto entry = bucket_->get(key);
    if (!entry)
      return false;
    std::set<entity_name> names;
    if (*entry) {
      auto parsed = decode((*entry)->value);
      if (parsed) // a malformed entry is replaced
        names = std::move(*parsed);
    }
    auto before = names;
    for (auto& n : d.remove)
      names.erase(n);
    names.insert(d.add.begin(), d.add.end());
    if (names == before)
      return true;
    auto rev = *entry ? bucket_->update(key, encode(names), (*entry)->revision)
                      : bucket_->create(key, encode(names));
    if (rev)
      return true;
    if (!is(rev.error(), persistence_error::version_conflict))
      return false;
  }
  return false;
}

std::string entity_registry::encode(const std::set<entity_name>& names) {
  boost::json::array out;
  out.reserve(names.size());
  for (auto& [type, id] : names)
    out.push_back(boost::json::array{boost::json::string_view{type},
                                     boost::json::string_view{id}});
  return boost::json::serialize(out);
}

caf::expected<std::set<entity_name>>
entity_registry::decode(const std::string& json) {
  auto bad = [](const std::string& what) {
    return make_persistence_error(persistence_error::corrupt_data,
                                  "remembered entities: " + what);
  };
  boost::system::error_code ec;
  auto v = boost::json::parse(json, ec);
  if (ec)
    return bad("not JSON (" + ec.message() + ")");
  auto* arr = v.if_array();
  if (!arr)
    return bad("not an array");
  std::set<entity_name> out;
  for (auto& e : *arr) {
    auto* pair = e.if_array();
    if (!pair || pair->size() != 2 || !(*pair)[0].is_string()
        || !(*pair)[1].is_string())
      return bad("an element is not [type, id]");
    out.emplace(std::string{(*pair)[0].get_string()},
                std::string{(*pair)[1].get_string()});
  }
  return out;
}

} // namespace aether
