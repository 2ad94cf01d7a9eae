// Drives the demo cluster (see run-cluster): sends commands to the nodes over
// NATS request/reply and checks what they answer. Each step prints what
// happens in plain words; the exit code is 0 only if every check held.
//
//   cluster_driver <nats-urls> <step> [args...]
//   steps: ready | sharded | broadcast | failover <pid,pid,pid>
//          | node-failover <node> <node-pid> | runner | load <account>
//          | recovered <node> <account>
#include <boost/json.hpp>
#include <chrono>
#include <csignal>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
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

/// Every node answers, sees all three members and owns the shards it should
/// (every hand-over done), so together they own each shard once.
bool balanced(bool report) {
  int64_t owned = 0, shards = -1;
  bool all_members = true, on_target = true;
  for (auto& n : nodes) {
    auto st = ask(n, {{"op", "status"}}, 2s);
    if (!ok(st))
      return false;
    owned += field(st, "owned");
    shards = field(st, "shards");
    on_target = on_target && field(st, "owned") == field(st, "target");
    all_members = all_members && st.at("members").as_array().size() == 3;
    if (report)
      say("node " + n + " owns " + std::to_string(field(st, "owned")) + " of "
          + std::to_string(shards) + " shards");
  }
  return all_members && on_target && owned == shards;
}

void ready() {
  for (auto& n : nodes)
    check(eventually(
            [&] {
              return ok(ask(n, {{"op", "ping"}}, 1s));
            },
            60s),
          "node " + n + " answers");
  check(eventually(
          [] {
            return balanced(false);
          },
          60s),
        "the three nodes see each other and each owns its share of the "
        "shards, every shard exactly once");
  balanced(true);
}

/// Deposits into 60 accounts through random nodes: every answer is right,
/// and each account runs on exactly one node.
void sharded() {
  say("deposit into acc-100 .. acc-159, each command sent to a random node");
  std::map<std::string, int64_t> balances;
  int wrong = 0, failed = 0;
  for (int round = 1; round <= 3; ++round)
    for (int i = 100; i < 160; ++i) {
      auto account = "acc-" + std::to_string(i);
      auto& node = nodes[static_cast<size_t>(std::rand()) % nodes.size()];
      auto r = deposit(node, account, round);
      if (!ok(r)) {
        ++failed;
        say("  " + account + " via " + node + ": " + error_of(r));
        continue;
      }
      balances[account] += round;
      if (field(r, "balance") != balances[account])
        ++wrong;
    }
  check(failed == 0 && wrong == 0,
        "180 deposits through random nodes, every balance right");
  std::map<std::string, std::string> where;
  int twice = 0;
  for (auto& n : nodes) {
    auto st = ask(n, {{"op", "status"}});
    for (auto& a : st.at("active").as_array()) {
      auto name = std::string{a.as_string()};
      if (name.rfind("account/acc-1", 0) != 0 || name.size() != 15)
        continue;
      if (!where.emplace(name, n).second)
        ++twice;
    }
  }
  check(twice == 0 && where.size() == 60,
        "each of the 60 accounts runs on exactly one node ("
          + std::to_string(where.size()) + " found, " + std::to_string(twice)
          + " on two nodes)");
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

// The name of the NATS server that leads `stream` (s1, s2 or s3), or "".
std::string leader_of(const char* stream) {
  jsCtx* js = nullptr;
  if (natsConnection_JetStream(&js, nc, nullptr) != NATS_OK)
    return "";
  jsStreamInfo* si = nullptr;
  std::string leader;
  if (js_GetStreamInfo(&si, js, stream, nullptr, nullptr) == NATS_OK) {
    if (si->Cluster != nullptr && si->Cluster->Leader != nullptr)
      leader = si->Cluster->Leader;
    jsStreamInfo_Destroy(si);
  }
  jsCtx_Destroy(js);
  return leader;
}

// Kills (kill -9) the NATS server that leads the cluster's membership bucket
// midway through 60 deposits: the leases, the routing and the event stream
// all have to carry on over the two servers left.
void failover(const std::string& server_pids) {
  std::vector<pid_t> pids;
  std::stringstream in{server_pids};
  for (std::string p; std::getline(in, p, ',');)
    pids.push_back(static_cast<pid_t>(std::stoi(p)));
  auto leader = leader_of("KV_aether_members_bank");
  size_t victim = 1;
  if (leader.size() == 2 && leader[0] == 's' && leader[1] >= '1'
      && static_cast<size_t>(leader[1] - '1') < pids.size())
    victim = static_cast<size_t>(leader[1] - '1');
  check(!leader.empty(), "the membership bucket has a leader (" + leader + ")");
  say("writing to acc-3 through all nodes; one NATS server is killed midway");
  bool killed = false;
  auto acked = load("acc-3", 60, [&](int n) {
    if (n == 20 && !killed) {
      say("kill -9 of NATS server s" + std::to_string(victim + 1) + " (pid "
          + std::to_string(pids[victim])
          + "), the leader of the cluster's membership bucket");
      ::kill(pids[victim], SIGKILL);
      killed = true;
    }
  });
  check(killed, "a NATS server was killed under load");
  check(acked.size() == 60, "60 deposits acknowledged with a server down");
  verify("acc-3", acked);
}

/// Writes to 20 accounts through the two other nodes; `victim` is killed
/// (kill -9) midway. Its accounts wait for the failover, then go on; every
/// acknowledged deposit is in the balances.
void node_failover(const std::string& victim, pid_t pid) {
  std::vector<std::string> others;
  for (auto& n : nodes)
    if (n != victim)
      others.push_back(n);
  std::map<std::string, std::set<int64_t>> acked;
  std::map<std::string, int> unknown;
  say("deposit 1 into acc-200 .. acc-219 in rounds (20 commands at once), "
      "through nodes "
      + others[0] + " and " + others[1] + "; node " + victim
      + " is killed (kill -9) after round 3");
  std::set<std::string> on_victim;
  std::chrono::steady_clock::time_point killed_at;
  std::chrono::milliseconds back{0};
  std::mutex mtx;
  for (int round = 1; round <= 8; ++round) {
    if (round == 4) {
      auto st = ask(victim, {{"op", "status"}});
      for (auto& a : st.at("active").as_array()) {
        auto name = std::string{a.as_string()};
        on_victim.insert(name.substr(name.find('/') + 1));
      }
      ::kill(pid, SIGKILL);
      killed_at = std::chrono::steady_clock::now();
      // The NATS servers drop a dead client's subscriptions within
      // milliseconds; a request routed to it before that is lost and fails
      // with unknown_outcome after the request timeout (docs/cluster.md).
      // The demo shows the failover itself: it sends 50 ms after the kill.
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
      say("kill -9 of node " + victim + " (pid " + std::to_string(pid)
          + "), which ran " + std::to_string(on_victim.size())
          + " of the accounts");
    }
    std::vector<std::thread> senders;
    for (int i = 200; i < 220; ++i)
      senders.emplace_back([&, i, round] {
        auto account = "acc-" + std::to_string(i);
        auto& node = others[static_cast<size_t>(i + round) % 2];
        auto r = deposit(node, account, 1);
        auto done = std::chrono::steady_clock::now();
        std::lock_guard<std::mutex> guard{mtx};
        if (!ok(r)) {
          unknown[account] += 1;
          say("  " + account + ": " + error_of(r));
          return;
        }
        if (round == 4 && on_victim.count(account) > 0)
          back = std::max(back,
                          std::chrono::duration_cast<std::chrono::milliseconds>(
                            done - killed_at));
        if (!acked[account].insert(field(r, "version")).second)
          check(false, account + " version "
                         + std::to_string(field(r, "version"))
                         + " acknowledged twice");
      });
    for (auto& t : senders)
      t.join();
  }
  if (back.count() > 0)
    say("the dead node's accounts answered again "
        + std::to_string(back.count())
        + " ms after the kill (lease TTL 4000 ms)");
  else
    say("no deposit into the dead node's accounts was answered in the round "
        "of the kill (each failed as shown, and was counted as unknown)");
  int bad = 0;
  int64_t total = 0;
  for (auto& kv : acked) {
    auto info = ask(others[0], {{"op", "info"}, {"account", kv.first}});
    auto version = field(info, "version");
    auto balance = field(info, "balance");
    total += static_cast<int64_t>(kv.second.size());
    // Deposits of 1: balance == version means no gap and no duplicate;
    // every acknowledged deposit is in it, plus at most the unknown ones.
    if (!ok(info) || balance != version
        || version < static_cast<int64_t>(kv.second.size())
        || version > static_cast<int64_t>(kv.second.size()) + unknown[kv.first]
        || (kv.second.empty() ? 0 : *kv.second.rbegin()) > version)
      ++bad;
  }
  check(bad == 0 && acked.size() == 20,
        std::to_string(total)
          + " acknowledged deposits, all in the balances of the 20 accounts; "
            "no gap, no duplicate");
}

/// The nodes whose active entities include the totals projection.
std::vector<std::string> totals_runners(const std::vector<std::string>& of) {
  std::vector<std::string> out;
  for (auto& n : of) {
    auto st = ask(n, {{"op", "status"}}, 5s);
    if (!ok(st))
      continue;
    for (auto& a : st.at("active").as_array())
      if (a.as_string() == "aether.projection/totals")
        out.push_back(n);
  }
  return out;
}

/// Prints the node that runs the totals projection (for run-cluster, which
/// kills that node in step 4), after checking that exactly one does.
void runner() {
  std::vector<std::string> found;
  eventually([&] {
    return (found = totals_runners(nodes)).size() == 1;
  });
  if (found.size() != 1) {
    std::cerr << "the totals projection runs on " << found.size() << " nodes\n";
    ++failures;
    return;
  }
  std::cout << found.front() << std::endl;
}

/// The totals read model (fed by the projection that moved with the
/// killed node) holds every deposit the accounts hold, and the projection
/// runs on exactly one of the nodes left.
void totals_after(const std::string& victim) {
  std::vector<std::string> others;
  for (auto& n : nodes)
    if (n != victim)
      others.push_back(n);
  std::vector<std::string> found;
  auto moved = eventually(
    [&] {
      return (found = totals_runners(others)).size() == 1;
    },
    30s);
  check(moved, "the totals projection moved from " + victim
                 + " to exactly one node ("
                 + (found.empty() ? std::string{"none"} : found.front()) + ")");
  std::string differs;
  auto agree = [&] {
    for (int i = 200; i < 220; ++i) {
      auto account = "acc-" + std::to_string(i);
      auto info = ask(others[0], {{"op", "info"}, {"account", account}});
      auto totals = ask(others[1], {{"op", "totals"}, {"account", account}});
      if (!ok(info) || !ok(totals)
          || field(info, "version") != field(totals, "version")
          || field(info, "balance") != field(totals, "balance")) {
        differs = account + ": account at version "
                  + std::to_string(field(info, "version")) + ", totals at "
                  + std::to_string(field(totals, "version"));
        return false;
      }
    }
    return true;
  };
  auto agreed = eventually(agree, 30s);
  check(agreed,
        "the totals read model has every deposit of the 20 accounts, each "
        "once (version and balance as the accounts')"
          + (agreed ? std::string{} : "; last seen: " + differs));
}

void recovered(const std::string& node, const std::string& account) {
  auto info = ask(node, {{"op", "info"}, {"account", account}}, 30s);
  // The view of a node that kept running (a restarted node's read model
  // starts empty and fills as events arrive).
  auto view = ask(node == "A" ? "B" : "A",
                  {{"op", "view"}, {"account", account}});
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
  else if (step == "sharded")
    sharded();
  else if (step == "node-failover" && argc > 4) {
    node_failover(argv[3], static_cast<pid_t>(std::stoi(argv[4])));
    totals_after(argv[3]);
  } else if (step == "runner")
    runner();
  else if (step == "failover" && argc > 3)
    failover(argv[3]);
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
