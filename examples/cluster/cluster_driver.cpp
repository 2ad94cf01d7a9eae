// Drives the demo cluster (see run-cluster): sends commands to the nodes over
// NATS request/reply and checks what they answer. Each step prints what
// happens in plain words; the exit code is 0 only if every check held.
//
//   cluster_driver <nats-urls> <step> [args...]
//   steps: ready | broadcast | stale | failover <server-pid> | load <account>
//          | recovered <node> <account>
#include <boost/json.hpp>
#include <chrono>
#include <csignal>
#include <functional>
#include <iostream>
#include <map>
#include <nats/nats.h>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using json = boost::json::object;

namespace {

natsConnection* nc = nullptr;
int failures = 0;

void say(const std::string& line) {
  std::cout << "  " << line << std::endl;
}

void check(bool ok, const std::string& what) {
  std::cout << (ok ? "  ok:   " : "  FAIL: ") << what << std::endl;
  if (!ok)
    ++failures;
}

json ask(const std::string& node, json cmd,
         std::chrono::milliseconds timeout = 15s) {
  natsMsg* reply = nullptr;
  auto subject = "demo.node." + node;
  auto text = boost::json::serialize(cmd);
  auto s = natsConnection_RequestString(&reply, nc, subject.c_str(),
                                        text.c_str(), timeout.count());
  if (s != NATS_OK)
    return json{{"ok", false},
                {"error", std::string{"no answer: "} + natsStatus_GetText(s)}};
  auto v = boost::json::parse(std::string_view{
    natsMsg_GetData(reply), static_cast<size_t>(natsMsg_GetDataLength(reply))});
  natsMsg_Destroy(reply);
  return v.as_object();
}

json deposit(const std::string& node, const std::string& account,
             int64_t amount) {
  return ask(node,
             {{"op", "deposit"}, {"account", account}, {"amount", amount}});
}

int64_t field(const json& j, const char* key) {
  auto* v = j.if_contains(key);
  return v && v->is_int64() ? v->as_int64() : -1;
}

bool ok(const json& j) {
  auto* v = j.if_contains("ok");
  return v && v->is_bool() && v->as_bool();
}

std::string error_of(const json& j) {
  auto* v = j.if_contains("error");
  return v && v->is_string() ? std::string{v->as_string()} : "";
}

// Waits for `pred` with a deadline.
bool eventually(const std::function<bool()>& pred,
                std::chrono::milliseconds limit = 20s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

bool view_reaches(const std::string& node, const std::string& account,
                  int64_t version) {
  return eventually([&] {
    auto v = ask(node, {{"op", "view"}, {"account", account}});
    return field(v, "version") >= version;
  });
}

const std::vector<std::string> nodes{"A", "B", "C"};

void ready() {
  for (auto& n : nodes)
    check(eventually(
            [&] {
              return ok(ask(n, {{"op", "ping"}}, 1s));
            },
            60s),
          "node " + n + " answers");
}

void broadcast() {
  say("A: deposit 10 into acc-1 (stored on the replicated JetStream)");
  auto r = deposit("A", "acc-1", 10);
  check(ok(r) && field(r, "version") == 1,
        "A stored acc-1 version 1 (balance "
          + std::to_string(field(r, "balance")) + ")");
  for (auto& n : {"B", "C"}) {
    check(view_reaches(n, "acc-1", 1),
          std::string{"node "} + n
            + "'s subscriber saw the event stored on A (read model at "
              "version 1)");
    auto v = ask(n, {{"op", "view"}, {"account", "acc-1"}});
    check(field(v, "balance") == 10,
          std::string{"node "} + n + "'s read model shows balance 10");
  }
}

void stale() {
  say("B: deposit 5 into acc-2, so B holds acc-2 in memory at version 1");
  check(ok(deposit("B", "acc-2", 5)), "B stored acc-2 version 1");
  say("A: deposit 7 into acc-2 (version 2); B's copy is now stale");
  auto a = deposit("A", "acc-2", 7);
  check(ok(a) && field(a, "version") == 2, "A stored acc-2 version 2");
  check(view_reaches("B", "acc-2", 2),
        "B heard of version 2 (EventStored raised its version cache)");
  auto t0 = std::chrono::steady_clock::now();
  auto b = deposit("B", "acc-2", 1);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
              std::chrono::steady_clock::now() - t0)
              .count();
  check(!ok(b) && b.contains("conflict") && b.at("conflict").as_bool(),
        "B's stale write failed fast with a version conflict ("
          + std::to_string(ms) + " ms): " + error_of(b));
  auto retry = deposit("B", "acc-2", 1);
  check(ok(retry) && field(retry, "version") == 3
          && field(retry, "balance") == 13,
        "B re-recovered; the retry stored version 3, balance 13");
}

// Deposits 1 into `account` until `n` deposits were acknowledged, moving to
// the next node every 10 acknowledgements (the new node's copy of the actor
// is stale at first) and retrying what fails; returns the acknowledged
// versions.
std::set<int64_t> load(const std::string& account, int n,
                       const std::function<void(int)>& on_ack = {}) {
  std::set<int64_t> acked;
  int failed = 0;
  auto deadline = std::chrono::steady_clock::now() + 120s;
  while (static_cast<int>(acked.size()) < n
         && std::chrono::steady_clock::now() < deadline) {
    auto& node = nodes[(acked.size() / 10) % nodes.size()];
    auto r = deposit(node, account, 1);
    if (!ok(r)) {
      ++failed;
      continue;
    }
    if (!acked.insert(field(r, "version")).second)
      check(false, "version " + std::to_string(field(r, "version"))
                     + " acknowledged twice");
    if (on_ack)
      on_ack(static_cast<int>(acked.size()));
  }
  say(std::to_string(acked.size()) + " deposits acknowledged, "
      + std::to_string(failed)
      + " attempts failed (conflicts, the outage) and were retried");
  return acked;
}

// Every event is a deposit of 1, so in a history without gaps or duplicates
// the balance equals the version. The read models fold every event (their
// followers close gaps from the store), so they show the whole history.
void verify(const std::string& account, const std::set<int64_t>& acked) {
  int64_t last = acked.empty() ? 0 : *acked.rbegin();
  std::map<std::string, std::pair<int64_t, int64_t>> seen;
  auto agree = [&] {
    seen.clear();
    for (auto& n : nodes) {
      auto v = ask(n, {{"op", "view"}, {"account", account}});
      seen[n] = {field(v, "version"), field(v, "balance")};
    }
    auto first = seen.begin()->second;
    for (auto& kv : seen)
      if (kv.second != first || kv.second.first < last)
        return false;
    return true;
  };
  check(eventually(agree), "the read models of A, B and C agree and include "
                           "every acknowledged version (up to "
                             + std::to_string(last) + ")");
  auto [version, balance] = seen["A"];
  check(balance == version,
        "the history is contiguous, without duplicates: version "
          + std::to_string(version) + ", balance " + std::to_string(balance));
  say(std::to_string(version - last)
      + " write(s) whose outcome was unknown to the driver landed, each "
        "exactly once");
}

void failover(pid_t server) {
  say("writing to acc-3 through all nodes; one NATS server is killed midway");
  bool killed = false;
  auto acked = load("acc-3", 60, [&](int n) {
    if (n == 20 && !killed) {
      say("kill -9 of NATS server (pid " + std::to_string(server) + ")");
      ::kill(server, SIGKILL);
      killed = true;
    }
  });
  check(killed, "a NATS server was killed under load");
  check(acked.size() == 60, "60 deposits acknowledged with a server down");
  verify("acc-3", acked);
}

void recovered(const std::string& node, const std::string& account) {
  auto info = ask(node, {{"op", "info"}, {"account", account}}, 30s);
  auto view = ask("A", {{"op", "view"}, {"account", account}});
  check(ok(info) && field(info, "snapshot") > 0,
        "restarted node " + node + " recovered " + account
          + " from the snapshot at version "
          + std::to_string(field(info, "snapshot")) + " and replayed "
          + std::to_string(field(info, "replayed")) + " events");
  check(field(info, "balance") == field(view, "balance"),
        "its balance (" + std::to_string(field(info, "balance"))
          + ") matches the other nodes' view");
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: cluster_driver <nats-urls> <step> [args...]\n";
    return 2;
  }
  natsOptions* opts = nullptr;
  natsOptions_Create(&opts);
  std::vector<std::string> urls;
  std::stringstream in{argv[1]};
  for (std::string u; std::getline(in, u, ',');)
    urls.push_back(u);
  std::vector<const char*> ptrs;
  for (auto& u : urls)
    ptrs.push_back(u.c_str());
  natsOptions_SetServers(opts, ptrs.data(), static_cast<int>(ptrs.size()));
  natsOptions_SetReconnectWait(opts, 100);
  natsOptions_SetMaxReconnect(opts, -1);
  if (natsConnection_Connect(&nc, opts) != NATS_OK) {
    std::cerr << "cluster_driver: cannot connect to NATS\n";
    return 1;
  }
  std::string step = argv[2];
  if (step == "ready")
    ready();
  else if (step == "broadcast")
    broadcast();
  else if (step == "stale")
    stale();
  else if (step == "failover" && argc > 3)
    failover(static_cast<pid_t>(std::stoi(argv[3])));
  else if (step == "load" && argc > 4)
    verify(argv[3], load(argv[3], std::stoi(argv[4])));
  else if (step == "recovered" && argc > 4)
    recovered(argv[3], argv[4]);
  else {
    std::cerr << "cluster_driver: unknown step " << step << "\n";
    failures = 1;
  }
  natsConnection_Destroy(nc);
  natsOptions_Destroy(opts);
  return failures == 0 ? 0 : 1;
}
