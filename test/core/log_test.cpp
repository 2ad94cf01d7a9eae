// The log sink: records with levels and fields, the minimum level, the
// default line format, credentials redacted before any sink sees them, and
// a persistent actor's warnings arriving with its actor id.

#include "actor_fixture.hpp"
#include "aether/core/log.hpp"
#include "tally.hpp"

#include <mutex>
#include <vector>

using namespace aether;
using namespace aether::test;

namespace {

/// Captures records while alive; restores the default sink after.
struct captured {
  std::mutex mtx;
  std::vector<log_record> records;
  captured() {
    set_log_sink([this](const log_record& r) {
      std::lock_guard<std::mutex> guard{mtx};
      records.push_back(r);
    });
  }
  ~captured() {
    set_log_sink(nullptr);
    set_log_level(log_level::info);
  }
};

} // namespace

TEST_CASE("log: records reach the sink with level and fields, redacted") {
  captured c;
  log(log_level::warning, "connect to nats://alice:s3cret@host:4222 failed",
      {{"namespace", "bank"}, {"url", "tls://token@host?password=x"}});
  REQUIRE(c.records.size() == 1);
  auto& r = c.records[0];
  CHECK(r.level == log_level::warning);
  CHECK(r.message == "connect to nats://***@host:4222 failed");
  REQUIRE(r.fields.size() == 2);
  CHECK(r.fields[0] == log_field{"namespace", "bank"});
  CHECK(r.fields[1] == log_field{"url", "tls://***@host?password=***"});
  auto line = format_log_record(r);
  CHECK(line.find(" warning connect to nats://***@host:4222 failed "
                  "namespace=bank url=tls://***@host?password=***")
        != std::string::npos);
  CHECK(line.find("s3cret") == std::string::npos);
  // Below the minimum level: dropped.
  log(log_level::debug, "not shown");
  CHECK(c.records.size() == 1);
  set_log_level(log_level::debug);
  log(log_level::debug, "shown", {{"why", "two words"}});
  REQUIRE(c.records.size() == 2);
  CHECK(format_log_record(c.records[1]).find("why=\"two words\"")
        != std::string::npos);
}

TEST_CASE_METHOD(actor_fixture, "log: a persistent actor's warning reaches "
                                "the sink with its actor id") {
  captured c;
  // An event the state cannot fold: the recovery fails and says so.
  event bad;
  bad.type = "added";
  bad.actor_id = "broken-1";
  bad.version = 1;
  bad.data = boost::json::object{{"m", 1}};
  REQUIRE(memory->save_event(bad));
  auto a = spawn_actor<tally_actor>("broken-1", ctx);
  run();
  std::lock_guard<std::mutex> guard{c.mtx};
  REQUIRE_FALSE(c.records.empty());
  auto& r = c.records.front();
  CHECK(r.level == log_level::warning);
  CHECK(r.message.find("recovery of \"broken-1\" failed") != std::string::npos);
  CHECK(r.fields == std::vector<log_field>{{"actor_id", "broken-1"}});
}
