// Hostile input, table-driven: each case feeds one bad input to the public
// API or to a wire decoder and expects a clear error (the right code, a
// description naming the field) and nothing stored. Run against the memory
// and the SQLite store alike.

#include "aether/core/error.hpp"
#include "aether/nats_bridge/nats_bridge.hpp"
#include "aether/persistence/json_codec.hpp"
#include "aether/persistence/memory_store.hpp"
#include "aether/runtime/event_bus.hpp"
#include "aether/runtime/event_stored.hpp"
#include "aether/runtime/subject_pattern.hpp"
#include "aether/sqlite/sqlite_store.hpp"
#include "catch.hpp"
#include "temp_dir.hpp"

#include <boost/json.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

using namespace aether;

namespace {

struct hostile_case {
  std::string name;
  std::function<caf::error(event_store_with_snapshots&)> run;
  persistence_error code;
  std::string mentions; // the description must name this
};

caf::error err_of(caf::expected<append_result> r) {
  return r ? caf::error{} : r.error();
}

template <class T>
caf::error err_of_expected(caf::expected<T> r) {
  return r ? caf::error{} : r.error();
}

boost::json::object obj(int n = 1) {
  return boost::json::object{{"n", n}};
}

caf::error save(event_store_with_snapshots& s, std::string type,
                std::string actor, int64_t version,
                boost::json::value data = obj()) {
  return err_of(s.save_event(
    make_event(std::move(type), std::move(actor), version, std::move(data))));
}

boost::json::value nested(size_t depth) {
  boost::json::value v = boost::json::object{};
  for (size_t i = 0; i < depth; ++i)
    v = boost::json::object{{"x", std::move(v)}};
  return v;
}

std::string nested_text(size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

std::string envelope_with(const std::string& field, boost::json::value v) {
  auto env
    = boost::json::parse(encode_envelope("node-x", "orders",
                                         make_event("placed", "o-1", 1, obj())))
        .as_object();
  if (v.is_null())
    env.erase(field);
  else
    env[field] = std::move(v);
  return boost::json::serialize(env);
}

std::string event_json_with(const std::string& field, boost::json::value v) {
  auto e
    = json_codec::to_json(make_event("placed", "o-1", 1, obj())).as_object();
  if (v.is_null())
    e.erase(field);
  else
    e[field] = std::move(v);
  return boost::json::serialize(e);
}

actor_snapshot snap(std::string actor, int64_t version,
                    boost::json::value state = obj()) {
  actor_snapshot s;
  s.actor_id = std::move(actor);
  s.version = version;
  s.state = std::move(state);
  return s;
}

std::vector<hostile_case> cases() {
  using pe = persistence_error;
  auto inv = pe::invalid_argument;
  std::vector<hostile_case> xs;
  auto add = [&](std::string name,
                 std::function<caf::error(event_store_with_snapshots&)> f,
                 pe code, std::string mentions) {
    xs.push_back({std::move(name), std::move(f), code, std::move(mentions)});
  };
  // -- actor ids --------------------------------------------------------------
  for (auto& [name, id] : std::vector<std::pair<std::string, std::string>>{
         {"empty actor id", ""},
         {"256-byte actor id", std::string(256, 'a')},
         {"actor id with *", "acc*"},
         {"actor id with >", "acc>"},
         {"actor id with a space", "acc 1"},
         {"actor id with a tab", "acc\t1"},
         {"actor id with a newline", "acc\n1"},
         {"actor id with a control character", std::string{"acc\x01"}},
         {"actor id with DEL", std::string{"acc\x7f"}},
         {"actor id with invalid UTF-8", std::string{"acc\xff\xfe"}},
         {"actor id with a NUL byte", std::string{"acc\0x", 5}},
       })
    add(
      name,
      [id = id](auto& s) {
        return save(s, "t", id, 1);
      },
      inv, "actor");
  // -- event types and data ---------------------------------------------------
  add(
    "empty event type",
    [](auto& s) {
      return save(s, "", "a", 1);
    },
    inv, "type");
  add(
    "huge event type",
    [](auto& s) {
      return save(s, std::string(1 << 20, 't'), "a", 1);
    },
    inv, "type");
  add(
    "data is an array",
    [](auto& s) {
      return save(s, "t", "a", 1, boost::json::array{1, 2});
    },
    inv, "data");
  add(
    "data is a string",
    [](auto& s) {
      return save(s, "t", "a", 1, boost::json::string{"x"});
    },
    inv, "data");
  add(
    "data is null",
    [](auto& s) {
      return save(s, "t", "a", 1, nullptr);
    },
    inv, "data");
  add(
    "data nested 10,000 levels",
    [](auto& s) {
      return save(s, "t", "a", 1, nested(10000));
    },
    inv, "data");
  add(
    "data with NaN",
    [](auto& s) {
      return save(
        s, "t", "a", 1,
        boost::json::object{{"x", std::numeric_limits<double>::quiet_NaN()}});
    },
    inv, "data");
  add(
    "data with +inf",
    [](auto& s) {
      return save(
        s, "t", "a", 1,
        boost::json::object{{"x", std::numeric_limits<double>::infinity()}});
    },
    inv, "data");
  add(
    "data with -inf deep inside",
    [](auto& s) {
      return save(s, "t", "a", 1,
                  boost::json::object{
                    {"x", boost::json::array{
                            1, -std::numeric_limits<double>::infinity()}}});
    },
    inv, "data");
  add(
    "2 MiB payload",
    [](auto& s) {
      return save(s, "t", "a", 1,
                  boost::json::object{{"x", std::string(2 << 20, 'x')}});
    },
    inv, "size");
  // -- versions ---------------------------------------------------------------
  add(
    "version 0",
    [](auto& s) {
      return save(s, "t", "a", 0);
    },
    inv, "version");
  add(
    "negative version",
    [](auto& s) {
      return save(s, "t", "a", -1);
    },
    inv, "version");
  add(
    "INT64_MIN version",
    [](auto& s) {
      return save(s, "t", "a", std::numeric_limits<int64_t>::min());
    },
    inv, "version");
  add(
    "gap: a new actor starting at version 5",
    [](auto& s) {
      return save(s, "t", "a", 5);
    },
    pe::version_conflict, "version");
  add(
    "INT64_MAX version on a new actor",
    [](auto& s) {
      return save(s, "t", "a", std::numeric_limits<int64_t>::max());
    },
    pe::version_conflict, "version");
  add(
    "batch with a gap (1, 3)",
    [](auto& s) {
      return err_of(s.save_events(
        {make_event("t", "a", 1, obj()), make_event("t", "a", 3, obj())}));
    },
    inv, "version");
  add(
    "batch of two actors",
    [](auto& s) {
      return err_of(s.save_events(
        {make_event("t", "a", 1, obj()), make_event("t", "b", 2, obj())}));
    },
    inv, "actor");
  add(
    "empty batch",
    [](auto& s) {
      return err_of(s.save_events({}));
    },
    inv, "batch");
  add(
    "a good event in a batch with a bad one",
    [](auto& s) {
      return err_of(s.save_events(
        {make_event("t", "a", 1, obj()), make_event("", "a", 2, obj())}));
    },
    inv, "type");
  // -- snapshots
  // ----------------------------------------------------------------
  add(
    "snapshot with an empty actor id",
    [](auto& s) {
      return s.save_snapshot(snap("", 1));
    },
    inv, "actor");
  add(
    "snapshot with actor id *",
    [](auto& s) {
      return s.save_snapshot(snap("*", 1));
    },
    inv, "actor");
  add(
    "snapshot version 0",
    [](auto& s) {
      return s.save_snapshot(snap("a", 0));
    },
    inv, "version");
  add(
    "snapshot with a negative version",
    [](auto& s) {
      return s.save_snapshot(snap("a", -7));
    },
    inv, "version");
  add(
    "snapshot state of 2 MiB",
    [](auto& s) {
      return s.save_snapshot(
        snap("a", 1, boost::json::object{{"x", std::string(2 << 20, 'x')}}));
    },
    inv, "size");
  add(
    "snapshot state with NaN",
    [](auto& s) {
      return s.save_snapshot(snap(
        "a", 1,
        boost::json::object{{"x", std::numeric_limits<double>::quiet_NaN()}}));
    },
    inv, "state");
  add(
    "snapshot read with an invalid actor id",
    [](auto& s) {
      return err_of_expected(s.get_latest_snapshot("a b"));
    },
    inv, "actor");
  add(
    "event read with an invalid actor id",
    [](auto& s) {
      return err_of_expected(s.get_events("a>", 1));
    },
    inv, "actor");
  add(
    "delete with an invalid actor id",
    [](auto& s) {
      return s.delete_events_to("", 1);
    },
    inv, "actor");
  return xs;
}

// Decoders of what arrives from outside (files, NATS): no store involved.
struct decode_case {
  std::string name;
  std::function<caf::error()> run;
  std::string mentions;
};

std::vector<decode_case> decode_cases() {
  std::vector<decode_case> xs;
  auto env = [](std::string text) {
    return [text] {
      return err_of_expected(decode_envelope(text));
    };
  };
  auto ev = [](std::string text) {
    return [text] {
      return err_of_expected(json_codec::decode_event(text));
    };
  };
  auto good = encode_envelope("node-x", "orders",
                              make_event("placed", "o-1", 1, obj()));
  xs.push_back(
    {"envelope: truncated", env(good.substr(0, good.size() / 2)), "JSON"});
  xs.push_back({"envelope: not JSON", env("hello"), "JSON"});
  xs.push_back({"envelope: empty", env(""), "JSON"});
  xs.push_back({"envelope: an array", env("[1,2]"), "object"});
  xs.push_back(
    {"envelope: nested 10,000 levels", env(nested_text(10000)), "JSON"});
  xs.push_back({"envelope: no node_id", env(envelope_with("node_id", nullptr)),
                "node_id"});
  xs.push_back(
    {"envelope: empty node_id", env(envelope_with("node_id", "")), "node_id"});
  xs.push_back(
    {"envelope: numeric node_id", env(envelope_with("node_id", 7)), "node_id"});
  xs.push_back({"envelope: no namespace_id",
                env(envelope_with("namespace_id", nullptr)), "namespace_id"});
  xs.push_back({"envelope: wildcard namespace",
                env(envelope_with("namespace_id", "orders.>")),
                "namespace_id"});
  xs.push_back({"envelope: namespace with a space",
                env(envelope_with("namespace_id", "or ders")), "namespace_id"});
  xs.push_back(
    {"envelope: no event", env(envelope_with("event", nullptr)), "event"});
  xs.push_back(
    {"envelope: event is a string", env(envelope_with("event", "x")), "event"});
  xs.push_back({"envelope: event with actor id *",
                env(envelope_with("event", boost::json::parse(
                                             event_json_with("actorId", "*")))),
                "actor"});
  xs.push_back({"event: no eventType",
                ev(event_json_with("eventType", nullptr)), "eventType"});
  xs.push_back({"event: version as a string",
                ev(event_json_with("version", "1")), "version"});
  xs.push_back({"event: version as a double",
                ev(event_json_with("version", 1.5)), "version"});
  xs.push_back({"event: timestamp garbage",
                ev(event_json_with("timestamp", "yesterday")), "timestamp"});
  xs.push_back({"event: data not an object",
                ev(event_json_with("data", boost::json::array{})), "data"});
  xs.push_back({"event: metadata not a string map",
                ev(event_json_with("metadata", boost::json::object{{"k", 1}})),
                "metadata"});
  xs.push_back({"snapshot: not JSON",
                [] {
                  return err_of_expected(json_codec::decode_snapshot("{"));
                },
                "JSON"});
  xs.push_back({"pattern: empty token",
                [] {
                  return err_of_expected(subject_pattern::parse("a..b"));
                },
                "pattern"});
  xs.push_back({"pattern: > not last",
                [] {
                  return err_of_expected(subject_pattern::parse(">.a"));
                },
                "pattern"});
  xs.push_back({"pattern: control character",
                [] {
                  return err_of_expected(subject_pattern::parse("a\x02"));
                },
                "pattern"});
  xs.push_back({"namespace: wildcard for publishing",
                [] {
                  return validate_namespace("a.*");
                },
                "namespace"});
  xs.push_back(
    {"EventStored: version mismatch",
     [] {
       auto n = make_event_stored("bank", make_event("added", "a", 3, obj()));
       n.version = 4;
       return err_of_expected(read_event_stored(n));
     },
     "version"});
  return xs;
}

void run_table(event_store_with_snapshots& store) {
  auto table = cases();
  for (auto& c : table) {
    INFO("case: " << c.name);
    auto err = c.run(store);
    REQUIRE(err);
    CHECK(is(err, c.code));
    CHECK(describe(err).find(c.mentions) != std::string::npos);
  }
  // Nothing was stored by any case.
  for (auto id : {"a", "b", "*"}) {
    auto latest = store.get_latest_version(id);
    if (latest)
      CHECK(*latest == 0);
    auto s = store.get_latest_snapshot(id);
    if (s)
      CHECK_FALSE(s->has_value());
  }
  CHECK(table.size() >= 38);
}

} // namespace

TEST_CASE("hostile input: memory store") {
  memory_store store;
  run_table(store);
}

TEST_CASE("hostile input: SQLite store") {
  test::temp_dir dir;
  auto store = sqlite_store::open(dir.file("hostile.db"));
  REQUIRE(store);
  run_table(**store);
}

TEST_CASE("hostile input: decoders and the bus") {
  auto table = decode_cases();
  for (auto& c : table) {
    INFO("case: " << c.name);
    auto err = c.run();
    REQUIRE(err);
    CHECK((is(err, persistence_error::invalid_argument)
           || is(err, persistence_error::corrupt_data)));
    CHECK(describe(err).find(c.mentions) != std::string::npos);
  }
  CHECK(table.size() >= 25);
  // The bus refuses bad input and counts it; nothing is delivered.
  caf::actor_system_config cfg;
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  auto bus = std::make_shared<event_bus>(sys);
  CHECK(bus->publish("", make_event("t", "a", 1, obj())));
  CHECK(bus->publish("a.>", make_event("t", "a", 1, obj())));
  CHECK(bus->publish("ok", std::shared_ptr<const event>{}));
  CHECK_FALSE(bus->subscribe("a..b", [](const bus_event&) {}));
  subscription_options bad;
  bad.buffer = 0;
  CHECK_FALSE(bus->subscribe(
    "ok", [](const bus_event&) {}, bad));
  auto m = bus->metrics();
  CHECK(m["(invalid)"].publish_errors == 2);
  CHECK(m["ok"].publish_errors == 1);
  CHECK(m["(invalid)"].subscribe_errors == 2);
}
