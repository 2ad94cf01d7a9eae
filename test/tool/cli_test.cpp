// The `aether` command, run as a process against real stores: SQLite files
// and a real nats-server started by the test.

#include "aether/core/error.hpp"
#include "aether/jetstream/jetstream_store.hpp"
#include "aether/nats/jetstream.hpp"
#include "aether/nats_bridge/nats_bridge.hpp"
#include "aether/persistence/json_codec.hpp"
#include "aether/runtime/event_bus.hpp"
#include "aether/sqlite/sqlite_store.hpp"
#include "aether/testkit/nats_server.hpp"
#include "aether/testkit/temp_dir.hpp"
#include "aether/tool/store_url.hpp"
#include "aether/tool/store_walk.hpp"
#include "catch.hpp"
#include "eventually.hpp"
#include "tls_files.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sqlite3.h>
#include <sstream>
#include <sys/wait.h>
#include <thread>

using namespace aether;

namespace {

struct run_result {
  int rc = -1;
  std::string out;
  std::string err;
};

std::string quote(const std::string& arg) {
  std::string q = "'";
  for (auto c : arg)
    q += c == '\'' ? std::string{"'\\''"} : std::string(1, c);
  return q + "'";
}

std::string slurp(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  return std::string{std::istreambuf_iterator<char>{in}, {}};
}

// Runs the `aether` binary with `args`; stderr goes to `err_file`. Makes
// no Catch assertion (it also runs on a thread of its own): a process that
// cannot start gives rc -1.
run_result run_cli(const std::vector<std::string>& args,
                   const std::string& err_file) {
  std::string cmd = quote(AETHER_CLI);
  for (auto& a : args)
    cmd += " " + quote(a);
  cmd += " 2>" + quote(err_file) + " </dev/null";
  run_result r;
  auto* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr)
    return r;
  char buf[4096];
  while (auto n = std::fread(buf, 1, sizeof(buf), p))
    r.out.append(buf, n);
  auto status = ::pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.err = slurp(err_file);
  return r;
}

struct cli {
  testkit::temp_dir dir;
  run_result operator()(std::vector<std::string> args) {
    auto r = run_cli(args, dir.file("stderr"));
    UNSCOPED_INFO("aether " <<
                  [&] {
                    std::string s;
                    for (auto& a : args)
                      s += a + " ";
                    return s;
                  }() << "\nrc "
                            << r.rc << "\nstdout:\n"
                            << r.out << "\nstderr:\n"
                            << r.err);
    return r;
  }
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in{text};
  std::string line;
  while (std::getline(in, line))
    if (!line.empty())
      out.push_back(line);
  return out;
}

event make_ev(const std::string& actor, int64_t v) {
  auto e = make_event("deposited", actor, v,
                      boost::json::object{{"amount", v * 10}});
  e.command_id = "cmd-" + std::to_string(v);
  return e;
}

// Two accounts: "acc-1" with 5 events and snapshots at 2 and 4, "acc-2"
// with 3 events.
template <class Store>
void seed(Store& s) {
  for (int64_t v = 1; v <= 5; ++v)
    REQUIRE(s.save_event(make_ev("acc-1", v)));
  REQUIRE(s.save_events(
    {make_ev("acc-2", 1), make_ev("acc-2", 2), make_ev("acc-2", 3)}));
  for (int64_t v : {2, 4}) {
    actor_snapshot snap;
    snap.actor_id = "acc-1";
    snap.version = v;
    snap.state = boost::json::object{{"balance", v * 100}};
    snap.time = now();
    REQUIRE_FALSE(s.save_snapshot(snap));
  }
}

std::shared_ptr<nats_connection>
connect_to(const testkit::nats_server& server) {
  nats_options no;
  no.servers = {server.url()};
  auto conn = nats_connection::connect(no);
  if (!conn)
    FAIL(describe(conn.error()));
  return *conn;
}

std::string seeded_sqlite(const testkit::temp_dir& dir,
                          const std::string& name) {
  auto path = dir.file(name);
  auto st = sqlite_store::open(path);
  REQUIRE(st);
  seed(**st);
  return path;
}

// Every event and snapshot of a store, as the codec writes them.
std::vector<std::string> contents(event_store_with_snapshots& s) {
  std::vector<std::string> out;
  auto ids = s.actor_ids();
  REQUIRE(ids);
  for (auto& id : *ids) {
    auto evs = s.get_events(id, 1);
    REQUIRE(evs);
    for (auto& e : *evs)
      out.push_back(json_codec::encode(e));
    auto snaps = tool::list_snapshots(s, id);
    REQUIRE(snaps);
    CHECK(snaps->bad.empty());
    for (auto& snap : snaps->good) {
      snap.store_position = 0;
      out.push_back(json_codec::encode(snap));
    }
  }
  return out;
}

} // namespace

TEST_CASE("aether CLI: store URLs") {
  using tool::parse_store_url;
  auto abs = parse_store_url("sqlite:///var/lib/a.db");
  REQUIRE(abs);
  CHECK(abs->path == "/var/lib/a.db");
  auto rel = parse_store_url("sqlite://data/a.db");
  REQUIRE(rel);
  CHECK(rel->path == "data/a.db");
  auto nats = parse_store_url("nats://u:s3cret@h1:4222,h2:4223");
  REQUIRE(nats);
  CHECK(
    nats->servers
    == std::vector<std::string>{"nats://u:s3cret@h1:4222", "nats://h2:4223"});
  CHECK(nats->shown == "nats://u:***@h1:4222,h2:4223");
  for (auto bad :
       {"x.db", "mysql://h/db", "sqlite://", "nats://", "nats://h:99999",
        "nats://h:port", "nats://:4222", "nats://h:4222/path"}) {
    CAPTURE(bad);
    auto r = parse_store_url(bad);
    REQUIRE_FALSE(r);
    CHECK(is(r.error(), persistence_error::invalid_argument));
    CHECK(describe(r.error()).find("store URL") != std::string::npos);
  }
  for (auto text : {"mysql://u:s3cret@h", "u:s3cret@h:4222",
                    "nats://h1:4222,s3cret@h2:4222"}) {
    CAPTURE(text);
    auto secret = parse_store_url(text);
    CHECK(tool::redact_url(text).find("s3cret") == std::string::npos);
    if (!secret)
      CHECK(describe(secret.error()).find("s3cret") == std::string::npos);
  }
  CHECK(tool::redact_url("nats://s3cret@h:4222") == "nats://***@h:4222");
  CHECK(tool::redact_url("nats://u:p@h:1,v:q@g:2")
        == "nats://u:***@h:1,v:***@g:2");
  CHECK(tool::redact_url("sqlite:///a:b@c.db") == "sqlite:///a:b@c.db");
}

TEST_CASE("aether CLI on SQLite: look, verify, export and import") {
  cli aether;
  auto path = seeded_sqlite(aether.dir, "bank.db");
  auto url = "sqlite://" + path;
  auto before = slurp(path);

  SECTION("actors, as a table and as JSON lines") {
    auto r = aether({"actors", "--store", url});
    REQUIRE(r.rc == 0);
    CHECK(r.out.find("ACTOR") != std::string::npos);
    CHECK(r.out.find("acc-1") != std::string::npos);
    CHECK(r.out.find("2 actors") != std::string::npos);
    r = aether({"actors", "--store", url, "--json"});
    REQUIRE(r.rc == 0);
    auto lines = lines_of(r.out);
    REQUIRE(lines.size() == 2);
    auto first = json_codec::parse(lines[0]);
    REQUIRE(first);
    CHECK(first->at("actorId").as_string() == "acc-1");
    CHECK(first->at("latestVersion").as_int64() == 5);
  }
  SECTION("events with a range; JSON lines are the wire format") {
    auto r = aether({"events", "acc-1", "--from", "2", "--to", "3", "--store",
                     url, "--json"});
    REQUIRE(r.rc == 0);
    auto lines = lines_of(r.out);
    REQUIRE(lines.size() == 2);
    auto ev = json_codec::decode_event(lines[1]);
    REQUIRE(ev);
    CHECK(ev->version == 3);
    CHECK(ev->command_id == "cmd-3");
    CHECK(ev->data.at("amount").as_int64() == 30);
    r = aether({"events", "acc-1", "--store", url});
    REQUIRE(r.rc == 0);
    CHECK(r.out.find("deposited") != std::string::npos);
    CHECK(r.out.find("5 events") != std::string::npos);
    r = aether({"events", "acc-1", "--from", "0", "--store", url});
    CHECK(r.rc == 2);
    CHECK(r.err.find("--from") != std::string::npos);
  }
  SECTION("snapshots, oldest first") {
    auto r = aether({"snapshots", "acc-1", "--store", url, "--json"});
    REQUIRE(r.rc == 0);
    auto lines = lines_of(r.out);
    REQUIRE(lines.size() == 2);
    auto s = json_codec::decode_snapshot(lines[0]);
    REQUIRE(s);
    CHECK(s->version == 2);
    CHECK(s->state.at("balance").as_int64() == 200);
  }
  SECTION("stats") {
    auto r = aether({"stats", "--store", url, "--json"});
    REQUIRE(r.rc == 0);
    auto o = json_codec::parse(r.out);
    REQUIRE(o);
    CHECK(o->at("actors").as_int64() == 2);
    CHECK(o->at("events").as_int64() == 8);
    CHECK(o->at("snapshots").as_int64() == 2);
    CHECK(o->at("highestVersion").as_int64() == 5);
    CHECK(o->at("storage").at("file").as_string() == path);
    r = aether({"stats", "--store", url});
    REQUIRE(r.rc == 0);
    CHECK(r.out.find("file bytes") != std::string::npos);
  }
  SECTION("verify: a sound store, then every kind of damage with its "
          "position") {
    auto r = aether({"verify", "--store", url});
    REQUIRE(r.rc == 0);
    CHECK(r.out.find("checked 2 actors, 8 events, 2 snapshots: no problems")
          != std::string::npos);
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    auto exec = [&](const char* sql) {
      char* msg = nullptr;
      auto rc = sqlite3_exec(db, sql, nullptr, nullptr, &msg);
      CAPTURE(msg ? msg : "");
      sqlite3_free(msg);
      REQUIRE(rc == SQLITE_OK);
    };
    exec("UPDATE events SET body = 'not json' WHERE actor_id = 'acc-1' AND "
         "version = 3");
    exec("DELETE FROM events WHERE actor_id = 'acc-2' AND version = 3");
    exec("UPDATE snapshots SET body = '{}' WHERE actor_id = 'acc-1' AND "
         "version = 2");
    sqlite3_close(db);
    r = aether({"verify", "--store", url, "--json"});
    CHECK(r.rc == 1);
    auto lines = lines_of(r.out);
    REQUIRE(lines.size() >= 4);
    std::vector<std::string> kinds;
    for (auto& l : lines) {
      auto v = json_codec::parse(l);
      REQUIRE(v);
      if (v->as_object().contains("problem"))
        kinds.push_back(std::string{v->at("problem").as_string()} + " "
                        + std::string{v->at("where").as_string()});
    }
    std::sort(kinds.begin(), kinds.end());
    CHECK(kinds
          == std::vector<std::string>{
            "events_missing version 3", "undecodable_event position 3",
            "undecodable_snapshot version 2", "version_gap version 4"});
    r = aether({"verify", "--store", url});
    CHECK(r.rc == 1);
    CHECK(r.out.find("4 problems") != std::string::npos);
  }
  SECTION("export, import into a new file, the same history; import "
          "again is refused") {
    auto file = aether.dir.file("bank.jsonl");
    auto r = aether({"export", "--store", url, "-o", file});
    REQUIRE(r.rc == 0);
    CHECK(r.err.find("exported 2 actors, 8 events, 2 snapshots")
          != std::string::npos);
    CHECK(lines_of(slurp(file)).size() == 1 + 8 + 2);
    auto copy = aether.dir.file("copy.db");
    r = aether({"import", file, "--store", "sqlite://" + copy});
    REQUIRE(r.rc == 0);
    {
      auto a = sqlite_store::open(path);
      auto b = sqlite_store::open(copy);
      REQUIRE(a);
      REQUIRE(b);
      CHECK(contents(**a) == contents(**b));
    }
    auto copy_before = slurp(copy);
    r = aether({"import", file, "--store", "sqlite://" + copy});
    CHECK(r.rc == 1);
    CHECK(r.err.find("never overwrites") != std::string::npos);
    CHECK(r.err.find("acc-1 (latest version 5)") != std::string::npos);
    CHECK(slurp(copy) == copy_before);
  }
  SECTION("import checks the whole file before writing anything") {
    auto file = aether.dir.file("bad.jsonl");
    {
      std::ofstream out{file};
      out << "{\"aetherExport\":1}\n"
          << "{\"event\":" << json_codec::encode(make_ev("new-1", 1)) << "}\n"
          << "{\"event\":" << json_codec::encode(make_ev("new-1", 3)) << "}\n";
    }
    auto target = aether.dir.file("target.db");
    auto r = aether({"import", file, "--store", "sqlite://" + target});
    CHECK(r.rc == 1);
    CHECK(r.err.find("line 3") != std::string::npos);
    CHECK(r.err.find("expected 2") != std::string::npos);
    auto st = sqlite_store::open(target);
    REQUIRE(st);
    CHECK((*st)->actor_ids() == std::vector<std::string>{});
    {
      std::ofstream out{file};
      out << "{\"event\":" << json_codec::encode(make_ev("new-1", 1)) << "}\n";
    }
    r = aether({"import", file, "--store", "sqlite://" + target});
    CHECK(r.rc == 1);
    CHECK(r.err.find("header") != std::string::npos);
    r = aether({"import", aether.dir.file("none.jsonl"), "--store",
                "sqlite://" + aether.dir.file("nothing.db")});
    CHECK(r.rc == 2);
    CHECK(r.err.find("does not exist") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(aether.dir.file("nothing.db")));
  }
  SECTION("progress bars when asked (a terminal gets them by default)") {
    auto r = aether({"verify", "--store", url, "--progress", "always"});
    REQUIRE(r.rc == 0);
    CHECK(r.err.find("verify [##############################] 2/2")
          != std::string::npos);
    r = aether({"verify", "--store", url});
    CHECK(r.err.find("verify [") == std::string::npos);
  }
  SECTION("clear errors: a missing file, a bad URL, a file that is not a "
          "store; nothing is created") {
    auto missing = aether.dir.file("missing.db");
    auto r = aether({"actors", "--store", "sqlite://" + missing});
    CHECK(r.rc == 3);
    CHECK(r.err.find("does not exist") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(missing));
    r = aether({"actors", "--store", "postgres://h/db"});
    CHECK(r.rc == 2);
    CHECK(r.err.find("unknown scheme \"postgres\"") != std::string::npos);
    r = aether({"actors"});
    CHECK(r.rc == 2);
    CHECK(r.err.find("--store") != std::string::npos);
    auto junk = aether.dir.file("junk.txt");
    std::ofstream{junk} << "hello";
    r = aether({"verify", "--store", "sqlite://" + junk});
    CHECK(r.rc == 3);
    CHECK(r.err.find("junk.txt") != std::string::npos);
    CHECK(slurp(junk) == "hello");
  }
  SECTION("reading commands never write: the file stays as it was") {
    for (std::vector<std::string> args :
         {std::vector<std::string>{"actors"},
          {"events", "acc-1"},
          {"snapshots", "acc-1"},
          {"stats"},
          {"verify"},
          {"export", "-o", aether.dir.file("x.jsonl")}}) {
      args.push_back("--store");
      args.push_back(url);
      CHECK(aether(args).rc == 0);
    }
    CHECK(slurp(path) == before);
  }
}

TEST_CASE("aether CLI on JetStream: a real nats-server, moving a store "
          "from SQLite and back, tail") {
  testkit::nats_server server;
  cli aether;
  auto conn = connect_to(server);
  jetstream_store::options jo;
  jo.ns = "bank";
  {
    auto st = jetstream_store::open(conn, jo);
    REQUIRE(st);
    seed(**st);
  }
  auto url = server.url();

  SECTION("actors, events and verify in a namespace") {
    auto r = aether({"actors", "--store", url, "--namespace", "bank"});
    REQUIRE(r.rc == 0);
    CHECK(r.out.find("acc-2") != std::string::npos);
    r = aether({"events", "acc-2", "--store", url, "-n", "bank", "--json"});
    REQUIRE(r.rc == 0);
    CHECK(lines_of(r.out).size() == 3);
    r = aether({"verify", "--store", url, "-n", "bank"});
    CHECK(r.rc == 0);
    CHECK(r.out.find("no problems") != std::string::npos);
    r = aether({"stats", "--store", url, "-n", "bank", "--json"});
    REQUIRE(r.rc == 0);
    auto stats = json_codec::parse(r.out);
    REQUIRE(stats);
    CHECK(stats->at("events").as_int64() == 8);
    CHECK(stats->at("storage").at("event stream").as_string() == "bank_events");
    // acc-1: 5 messages; acc-2: one batch of 3.
    CHECK(stats->at("storage").at("event stream messages").as_string() == "6");
  }
  SECTION("a namespace that does not exist is an error and is not created") {
    auto r = aether({"actors", "--store", url, "-n", "nobody"});
    CHECK(r.rc == 3);
    CHECK(r.err.find("does not exist") != std::string::npos);
    CHECK(r.err.find("\"nobody\"") != std::string::npos);
    auto info = jetstream{conn, std::chrono::seconds{5}}.info("nobody_events");
    REQUIRE_FALSE(info);
    CHECK(is(info.error(), persistence_error::not_found));
  }
  SECTION("SQLite to JetStream and back: the same history") {
    auto sqlite_path = seeded_sqlite(aether.dir, "from.db");
    auto file = aether.dir.file("move.jsonl");
    REQUIRE(
      aether({"export", "--store", "sqlite://" + sqlite_path, "-o", file}).rc
      == 0);
    auto r = aether({"import", file, "--store", url, "-n", "moved"});
    REQUIRE(r.rc == 0);
    CHECK(aether({"verify", "--store", url, "-n", "moved"}).rc == 0);
    // Importing into the namespace that has this history is refused.
    r = aether({"import", file, "--store", url, "-n", "bank"});
    CHECK(r.rc == 1);
    CHECK(r.err.find("never overwrites") != std::string::npos);
    // And back to a new SQLite file.
    auto back = aether.dir.file("back.jsonl");
    REQUIRE(aether({"export", "--store", url, "-n", "moved", "-o", back}).rc
            == 0);
    auto back_db = aether.dir.file("back.db");
    REQUIRE(aether({"import", back, "--store", "sqlite://" + back_db}).rc == 0);
    jetstream_store::options mo;
    mo.ns = "moved";
    mo.create = false;
    auto moved = jetstream_store::open(conn, mo);
    REQUIRE(moved);
    auto a = sqlite_store::open(sqlite_path);
    auto b = sqlite_store::open(back_db);
    REQUIRE(a);
    REQUIRE(b);
    CHECK(contents(**a) == contents(**moved));
    CHECK(contents(**a) == contents(**b));
  }
  SECTION("tail follows the bridge's envelopes live") {
    auto err_file = aether.dir.file("tail.err");
    run_result tailed;
    std::thread runner{[&] {
      tailed = run_cli({"tail", "bank.>", "--store", url, "--count", "2",
                        "--for", "30", "--json"},
                       err_file);
    }};
    REQUIRE(test::eventually(
      [&] {
        return slurp(err_file).find("following") != std::string::npos;
      },
      std::chrono::seconds{15}));
    caf::actor_system_config cfg;
    caf::actor_system sys{cfg};
    auto bus = std::make_shared<event_bus>(sys);
    auto bridge = nats_bridge::start(bus, conn);
    REQUIRE(bridge);
    REQUIRE_FALSE(bus->publish("bank.eu", make_ev("acc-9", 1)));
    REQUIRE_FALSE(bus->publish("other", make_ev("acc-9", 2)));
    REQUIRE_FALSE(bus->publish("bank.us", make_ev("acc-9", 3)));
    runner.join();
    INFO(tailed.out << tailed.err);
    CHECK(tailed.rc == 0);
    auto lines = lines_of(tailed.out);
    REQUIRE(lines.size() == 2);
    auto first = decode_envelope(lines[0]);
    REQUIRE(first);
    CHECK(first->ns == "bank.eu");
    CHECK(first->ev.version == 1);
    auto second = decode_envelope(lines[1]);
    REQUIRE(second);
    CHECK(second->ns == "bank.us");
    CHECK(second->ev.version == 3);
    auto r = aether({"tail", "bank.>", "--store", "sqlite:///x.db"});
    CHECK(r.rc == 2);
    CHECK(r.err.find("nats://") != std::string::npos);
    r = aether({"tail", "a..b", "--store", url});
    CHECK(r.rc == 2);
    CHECK(r.err.find("pattern") != std::string::npos);
  }
}

TEST_CASE("aether CLI: a refused credential is clear and shows no secret") {
  const std::string password = "cl1-s3cret-pw";
  testkit::nats_server server{"authorization { user: alice, password: \""
                              + password + "\" }"};
  cli aether;
  auto host = "127.0.0.1:" + std::to_string(server.port());
  auto r = aether(
    {"actors", "--store", "nats://alice:wrong-" + password + "@" + host});
  CHECK(r.rc == 3);
  CHECK(r.err.find("Authorization Violation") != std::string::npos);
  CHECK(r.err.find(password) == std::string::npos);
  r = aether({"actors", "--store", "nats://" + host, "--creds",
              aether.dir.file("none.creds")});
  CHECK(r.rc == 3);
  CHECK(r.err.find("credentials file") != std::string::npos);
  // The right password: no store in the namespace yet, said as such.
  r = aether({"actors", "--store", "nats://alice:" + password + "@" + host});
  CHECK(r.rc == 3);
  CHECK(r.err.find("does not exist") != std::string::npos);
  CHECK(r.err.find(password) == std::string::npos);
}

TEST_CASE("aether CLI: TLS with a client certificate") {
  test::tls_setup certs;
  testkit::nats_server server{certs.server_config()};
  cli aether;
  auto url = server.url();
  auto r = aether({"actors", "--store", url, "--timeout", "2"});
  CHECK(r.rc == 3);
  CHECK(r.err.find("TLS") != std::string::npos);
  r = aether({"actors", "--store", url, "--tls-ca", certs.other_ca,
              "--tls-cert", certs.client_cert, "--tls-key", certs.client_key,
              "--timeout", "2"});
  CHECK(r.rc == 3);
  CHECK(r.err.find("cannot connect") != std::string::npos);
  // The right CA and certificate: connected; the namespace has no store.
  r = aether({"actors", "--store", url, "--tls-ca", certs.ca, "--tls-cert",
              certs.client_cert, "--tls-key", certs.client_key});
  CHECK(r.rc == 3);
  CHECK(r.err.find("stream \"default_events\" does not exist")
        != std::string::npos);
}

namespace {

// `n` events of `actor` in batches of `per_batch` (one JetStream message
// each), with `pad` bytes of data per event.
template <class Store>
void seed_long(Store& s, const std::string& actor, int64_t n, int64_t per_batch,
               size_t pad = 0) {
  for (int64_t v = 1; v <= n;) {
    std::vector<event> batch;
    for (int64_t i = 0; i < per_batch && v <= n; ++i, ++v) {
      auto e = make_ev(actor, v);
      if (pad > 0)
        e.data.as_object()["pad"] = std::string(pad, 'x');
      batch.push_back(std::move(e));
    }
    REQUIRE(s.save_events(std::move(batch)));
  }
}

int64_t json_field(const std::string& text, const char* field) {
  auto v = json_codec::parse(text);
  REQUIRE(v);
  return v->at(field).as_int64();
}

} // namespace

TEST_CASE("aether CLI: long histories are read page by page, past damage") {
  cli aether;
  SECTION("SQLite: a bad record in the first page hides nothing after it") {
    auto path = aether.dir.file("long.db");
    {
      auto st = sqlite_store::open(path);
      REQUIRE(st);
      seed_long(**st, "long", 2500, 100);
    }
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db,
                         "UPDATE events SET body = 'x' WHERE actor_id = 'long' "
                         "AND version IN (10, 1500)",
                         nullptr, nullptr, nullptr)
            == SQLITE_OK);
    sqlite3_close(db);
    auto url = "sqlite://" + path;
    auto r = aether({"verify", "--store", url, "--json"});
    CHECK(r.rc == 1);
    auto lines = lines_of(r.out);
    REQUIRE(lines.size() == 5);
    CHECK(json_field(lines.back(), "events") == 2498);
    CHECK(json_field(lines.back(), "problems") == 4);
    CHECK(r.out.find("\"where\":\"position 1500\"") != std::string::npos);
    CHECK(r.out.find("events_missing") == std::string::npos);
    r = aether({"events", "long", "--store", url, "--json"});
    CHECK(r.rc == 1);
    CHECK(lines_of(r.out).size() == 2498);
    r = aether({"stats", "--store", url, "--json"});
    CHECK(json_field(r.out, "events") == 2498);
    CHECK(json_field(r.out, "undecodableRecords") == 2);
  }
  SECTION("JetStream: batches that straddle pages, a round trip to SQLite "
          "and back with large events") {
    testkit::nats_server server;
    auto conn = connect_to(server);
    jetstream_store::options jo;
    jo.ns = "long";
    {
      auto st = jetstream_store::open(conn, jo);
      REQUIRE(st);
      seed_long(**st, "long", 2503, 7);
    }
    auto r
      = aether({"verify", "--store", server.url(), "-n", "long", "--json"});
    CHECK(r.rc == 0);
    CHECK(json_field(r.out, "events") == 2503);
    auto file = aether.dir.file("long.jsonl");
    REQUIRE(
      aether({"export", "--store", server.url(), "-n", "long", "-o", file}).rc
      == 0);
    CHECK(lines_of(slurp(file)).size() == 1 + 2503);
    // 400 events of 5 KB: 2 MB, more than one NATS message holds.
    auto big = aether.dir.file("big.db");
    {
      auto st = sqlite_store::open(big);
      REQUIRE(st);
      seed_long(**st, "big", 400, 400, 5000);
    }
    auto big_file = aether.dir.file("big.jsonl");
    REQUIRE(aether({"export", "--store", "sqlite://" + big, "-o", big_file}).rc
            == 0);
    // Into a namespace that exists with settings of its own (an age limit).
    jetstream_store::options limited;
    limited.ns = "limited";
    limited.event_limits.max_age = std::chrono::hours{24};
    {
      auto st = jetstream_store::open(conn, limited);
      REQUIRE(st);
      REQUIRE((*st)->save_event(make_ev("other", 1)));
    }
    r = aether({"import", big_file, "--store", server.url(), "-n", "limited"});
    REQUIRE(r.rc == 0);
    limited.create = false;
    auto st = jetstream_store::open(conn, limited);
    REQUIRE(st);
    auto a = sqlite_store::open(big);
    REQUIRE(a);
    auto evs = (*st)->get_events("big", 1);
    REQUIRE(evs);
    CHECK(evs->size() == 400);
    auto original = (*a)->get_events("big", 1);
    REQUIRE(original);
    CHECK(*evs == *original);
  }
}

TEST_CASE("aether CLI: reading never changes a SQLite file's journal mode") {
  cli aether;
  auto path = seeded_sqlite(aether.dir, "rollback.db");
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  REQUIRE(
    sqlite3_exec(db, "PRAGMA journal_mode=DELETE", nullptr, nullptr, nullptr)
    == SQLITE_OK);
  sqlite3_close(db);
  // Bytes 18 and 19 of the header: 1 rollback journal, 2 WAL.
  auto mode = [&] {
    return static_cast<int>(slurp(path).at(18));
  };
  REQUIRE(mode() == 1);
  auto before = slurp(path);
  CHECK(aether({"verify", "--store", "sqlite://" + path}).rc == 0);
  CHECK(aether({"export", "--store", "sqlite://" + path, "-o",
                aether.dir.file("x.jsonl")})
          .rc
        == 0);
  CHECK(mode() == 1);
  CHECK(slurp(path) == before);
}

TEST_CASE("aether CLI: tail fails once the server is gone") {
  testkit::nats_server server;
  cli aether;
  auto err_file = aether.dir.file("tail.err");
  run_result tailed;
  std::thread runner{[&] {
    tailed = run_cli({"tail", "bank", "--store", server.url(), "--timeout", "1",
                      "--for", "60"},
                     err_file);
  }};
  REQUIRE(test::eventually(
    [&] {
      return slurp(err_file).find("following") != std::string::npos;
    },
    std::chrono::seconds{15}));
  auto started = std::chrono::steady_clock::now();
  server.stop();
  runner.join();
  INFO(tailed.err);
  CHECK(tailed.rc == 3);
  CHECK(tailed.err.find("lost the connection") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds{30});
}
