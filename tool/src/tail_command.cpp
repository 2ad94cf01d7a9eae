#include "aether/core/error.hpp"
#include "aether/nats/nats_subscription.hpp"
#include "aether/nats_bridge/nats_bridge.hpp"
#include "aether/persistence/json_codec.hpp"
#include "aether/runtime/subject_pattern.hpp"
#include "aether/tool/commands.hpp"

#include <boost/json/serialize.hpp>
#include <condition_variable>
#include <deque>
#include <mutex>

namespace aether::tool {

int tail_events(std::shared_ptr<nats_connection> conn, const tail_options& opts,
                const command_io& io) {
  auto pattern = subject_pattern::parse(opts.pattern);
  if (!pattern)
    return fail(
      io, "pattern \"" + opts.pattern + "\": " + describe(pattern.error()),
      exit_usage);
  // The NATS thread queues what arrives; this thread prints it. The queue
  // is shared with the handler, which may outlive this function (a close
  // that times out on a lost connection).
  struct inbox {
    std::mutex mtx;
    std::condition_variable cv;
    std::deque<std::string> arrived;
  };
  auto box = std::make_shared<inbox>();
  auto subject = opts.subject_prefix + "." + opts.pattern;
  auto sub = nats_subscription::subscribe(
    conn, subject, std::string{}, [box](nats_message&& msg) {
      std::lock_guard<std::mutex> guard{box->mtx};
      box->arrived.push_back(std::move(msg.data));
      box->cv.notify_one();
    });
  if (!sub)
    return fail(
      io, "cannot subscribe to \"" + subject + "\": " + describe(sub.error()),
      exit_store);
  if (auto err = conn->flush(std::chrono::seconds{5}))
    return fail(io, "cannot subscribe to \"" + subject + "\": " + describe(err),
                exit_store);
  io.err << "aether: following " << subject << '\n';
  auto deadline = opts.duration.count() > 0
                    ? std::chrono::steady_clock::now() + opts.duration
                    : std::chrono::steady_clock::time_point::max();
  uint64_t shown = 0;
  // Waits in slices, to notice a connection that is gone for good.
  auto lost_since = std::chrono::steady_clock::time_point::max();
  std::unique_lock<std::mutex> lock{box->mtx};
  while (opts.count == 0 || shown < opts.count) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline)
      break;
    auto slice = std::min(deadline, now + std::chrono::milliseconds{250});
    if (!box->cv.wait_until(lock, slice, [&] {
          return !box->arrived.empty();
        })) {
      if (conn->connected()) {
        lost_since = std::chrono::steady_clock::time_point::max();
      } else if (lost_since == std::chrono::steady_clock::time_point::max()) {
        lost_since = now;
      } else if (now - lost_since > opts.lost_after) {
        lock.unlock();
        (*sub)->begin_close();
        return fail(io, "lost the connection to NATS", exit_store);
      }
      continue;
    }
    auto text = std::move(box->arrived.front());
    box->arrived.pop_front();
    lock.unlock();
    auto env = decode_envelope(text);
    if (!env) {
      io.err << "aether: a message that is not an event envelope: "
             << describe(env.error()) << '\n';
    } else if (io.json) {
      io.out << encode_envelope(env->node_id, env->ns, env->ev) << std::endl;
      ++shown;
    } else {
      io.out << format_rfc3339(env->ev.time) << "  " << env->ns << "  "
             << env->ev.actor_id << "  v" << env->ev.version << "  "
             << env->ev.type << "  " << boost::json::serialize(env->ev.data)
             << std::endl;
      ++shown;
    }
    lock.lock();
  }
  lock.unlock();
  (*sub)->close();
  return exit_ok;
}

} // namespace aether::tool
