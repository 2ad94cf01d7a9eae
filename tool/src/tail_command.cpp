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
  // The NATS thread queues what arrives; this thread prints it.
  std::mutex mtx;
  std::condition_variable cv;
  std::deque<std::string> arrived;
  auto subject = opts.subject_prefix + "." + opts.pattern;
  auto sub = nats_subscription::subscribe(
    conn, subject, std::string{}, [&](nats_message&& msg) {
      std::lock_guard<std::mutex> guard{mtx};
      arrived.push_back(std::move(msg.data));
      cv.notify_one();
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
  std::unique_lock<std::mutex> lock{mtx};
  while (opts.count == 0 || shown < opts.count) {
    if (!cv.wait_until(lock, deadline, [&] {
          return !arrived.empty();
        }))
      break;
    auto text = std::move(arrived.front());
    arrived.pop_front();
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
