#include "append_pipeline.hpp"

namespace aether::detail {

namespace {

void add(append_pipeline::group& g, append_pipeline::batch& b) {
  auto last = b.events.back().version;
  for (auto& e : b.events)
    g.events.push_back(std::move(e));
  for (auto& s : b.encoded)
    g.encoded.push_back(std::move(s));
  g.parts.emplace_back(last, std::move(b.done));
}

size_t bytes_of(const append_pipeline::batch& b) {
  size_t n = 0;
  for (auto& s : b.encoded)
    n += s.size();
  return n;
}

} // namespace

append_pipeline::append_pipeline(limits lim, start_fn start, run_fn run)
  : lim_(lim), start_(std::move(start)), run_(std::move(run)) {
  auto n = lim_.threads == 0 ? size_t{1} : lim_.threads;
  for (size_t i = 0; i < n; ++i)
    threads_.emplace_back([this] {
      run_worker();
    });
}

append_pipeline::~append_pipeline() {
  {
    std::unique_lock<std::mutex> lock{mtx_};
    // Every append completes within the store's timeout; a completion
    // dispatches what waited behind it, so the chains empty out.
    cv_.wait_for(lock, lim_.drain_timeout, [this] {
      return chains_.empty();
    });
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_)
    t.join();
}

void append_pipeline::submit(batch b) {
  auto actor_id = b.events.front().actor_id;
  group g;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto [i, fresh] = chains_.try_emplace(actor_id);
    if (!fresh) {
      // An append of this actor is in flight: wait for it.
      i->second.batches.push_back(std::move(b));
      return;
    }
  }
  add(g, b);
  dispatch(actor_id, std::move(g));
}

bool append_pipeline::next_group(const std::string& actor_id, group& out) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = chains_.find(actor_id);
  if (i == chains_.end())
    return false;
  auto& q = i->second.batches;
  if (q.empty()) {
    chains_.erase(i);
    cv_.notify_all();
    return false;
  }
  size_t bytes = 0;
  do {
    auto& b = q.front();
    auto size = bytes_of(b);
    if (!out.parts.empty()) {
      // Only contiguous batches go together (a batch that is not is
      // refused on its own), within the group's bounds.
      if (b.events.front().version != out.events.back().version + 1
          || out.events.size() + b.events.size() > lim_.max_events
          || bytes + size > lim_.max_bytes)
        break;
    }
    bytes += size;
    add(out, b);
    q.pop_front();
  } while (!q.empty());
  return true;
}

void append_pipeline::dispatch(const std::string& actor_id, group g) {
  // The completion owns the group once `start` took it.
  auto holder = std::make_shared<group>(std::move(g));
  complete_fn complete = [this, actor_id,
                          holder](caf::expected<append_result> res) {
    finish(actor_id, *holder, std::move(res));
  };
  retry_fn run_instead = [this, actor_id, holder] {
    enqueue(actor_id, std::move(*holder));
  };
  if (!start_(*holder, complete, run_instead))
    enqueue(actor_id, std::move(*holder));
}

void append_pipeline::enqueue(const std::string& actor_id, group g) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    queue_.emplace_back(actor_id, std::move(g));
  }
  cv_.notify_all();
}

void append_pipeline::finish(const std::string& actor_id, group& g,
                             caf::expected<append_result> res) {
  for (auto& [last, done] : g.parts) {
    if (res)
      done(append_result{last, res->position});
    else
      done(res.error());
  }
  group next;
  if (next_group(actor_id, next))
    dispatch(actor_id, std::move(next));
}

void append_pipeline::run_worker() {
  for (;;) {
    std::pair<std::string, group> job;
    {
      std::unique_lock<std::mutex> lock{mtx_};
      cv_.wait(lock, [this] {
        return stopping_ || !queue_.empty();
      });
      if (queue_.empty())
        return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    auto res = run_(job.second);
    finish(job.first, job.second, std::move(res));
  }
}

} // namespace aether::detail
