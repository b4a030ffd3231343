// The self-test's hand-made histories and what each must produce.
#include "tests/chaos/self_test.h"

#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "tests/chaos/checks.h"
#include "tests/chaos/history.h"

namespace shoal::chaos {

namespace {

constexpr int64_t kMs = 1'000'000;

// Builders for ops on key "k" with times in ms.
OpRecord put(uint64_t client, const std::string& value, int64_t call_ms, int64_t ret_ms,
             bool ok = true, bool unknown = false) {
  OpRecord op;
  op.client = client;
  op.kind = OpRecord::Kind::kPut;
  op.key = "k";
  op.value = value;
  op.ok = ok;
  op.unknown = unknown;
  op.call = call_ms * kMs;
  op.ret = ret_ms * kMs;
  op.node = "n1";
  return op;
}

OpRecord get(uint64_t client, std::optional<std::string> read, int64_t call_ms, int64_t ret_ms,
             bool final_read = false) {
  OpRecord op;
  op.client = client;
  op.kind = OpRecord::Kind::kGet;
  op.key = "k";
  op.read = std::move(read);
  op.ok = true;
  op.call = call_ms * kMs;
  op.ret = ret_ms * kMs;
  op.final_read = final_read;
  op.node = "n2";
  return op;
}

OpRecord cas(uint64_t client, const std::string& expect, const std::string& value, bool applied,
             int64_t call_ms, int64_t ret_ms) {
  OpRecord op = put(client, value, call_ms, ret_ms);
  op.kind = OpRecord::Kind::kCas;
  op.expect = expect;
  op.applied = applied;
  return op;
}

CheckReport check(const std::vector<OpRecord>& h, const std::vector<FaultRecord>& faults = {}) {
  return check_run(h, faults, {"kill"}, 3.0, 100'000);
}

struct Case {
  std::string name;
  std::function<bool(std::string*)> run;  // true when the case behaved; else why
};

bool expect(bool condition, const std::string& what, std::string* why) {
  if (!condition) *why = what;
  return condition;
}

std::vector<Case> cases() {
  std::vector<Case> out;
  out.push_back({"a correct history with unknown writes passes", [](std::string* why) {
                   const auto r = check({put(1, "a", 0, 10), get(2, "a", 20, 30),
                                         cas(2, "a", "b", true, 40, 50),
                                         put(3, "c", 60, 70, false, true),   // unknown
                                         put(4, "d", 65, 75, false, false),  // failed
                                         get(5, "c", 80, 90), get(6, "c", 200, 210, true)});
                   return expect(!r.failed() && r.lost == 0 && r.acknowledged == 2,
                                 "flagged: " + report_text(r), why);
                 }});
  out.push_back({"a stale read is not linearizable", [](std::string* why) {
                   const auto r = check({put(1, "a", 0, 10), put(2, "b", 20, 30),
                                         get(3, "a", 40, 50), get(4, "b", 100, 110, true)});
                   return expect(!r.linearizability.linearizable && !r.linearizability.gave_up &&
                                     r.safety_violation() && r.failed(),
                                 "not flagged: " + report_text(r), why);
                 }});
  out.push_back({"a compare-and-set applied twice is not linearizable", [](std::string* why) {
                   const auto r =
                       check({put(1, "a", 0, 10), cas(2, "a", "b", true, 20, 30),
                              cas(3, "a", "c", true, 40, 50), get(4, "c", 100, 110, true)});
                   return expect(!r.linearizability.linearizable && r.safety_violation(),
                                 "not flagged: " + report_text(r), why);
                 }});
  out.push_back(
      {"a definitely failed write that took effect is not linearizable", [](std::string* why) {
         const auto r = check(
             {put(1, "a", 0, 10, false, false), get(2, "a", 20, 30), get(3, "a", 100, 110, true)});
         return expect(!r.linearizability.linearizable && r.safety_violation(),
                       "not flagged: " + report_text(r), why);
       }});
  out.push_back({"an acknowledged write missing at the end is lost", [](std::string* why) {
                   const auto r = check({put(1, "a", 0, 10), get(2, std::nullopt, 100, 110, true)});
                   return expect(r.lost == 1 && r.safety_violation() && r.failed(),
                                 "not flagged: " + report_text(r), why);
                 }});
  out.push_back({"a write replaced by an older one is lost", [](std::string* why) {
                   const auto r = check(
                       {put(1, "a", 0, 10), put(2, "b", 20, 30), get(3, "a", 100, 110, true)});
                   return expect(r.lost == 1 && r.lost_examples.size() == 1 &&
                                     r.lost_examples[0].find("\"b\"") != std::string::npos,
                                 "not flagged: " + report_text(r), why);
                 }});
  out.push_back({"a write overwritten by a concurrent one is not lost", [](std::string* why) {
                   const auto r = check(
                       {put(1, "a", 0, 30), put(2, "b", 10, 20), get(3, "a", 100, 110, true)});
                   return expect(r.lost == 0 && !r.failed(), "flagged: " + report_text(r), why);
                 }});
  out.push_back({"a key unreadable at the end loses its acknowledged writes", [](std::string* why) {
                   const auto r = check({put(1, "a", 0, 10)});
                   return expect(r.unread_keys.size() == 1 && r.lost == 1 && r.failed() &&
                                     r.safety_violation(),
                                 "not flagged: " + report_text(r), why);
                 }});
  out.push_back(
      {"an outage the next fault causes is not the earlier fault's", [](std::string* why) {
         std::vector<OpRecord> h;
         // A write every 100 ms, except from 4 s to 8 s.
         for (int64_t t = 0; t < 10'000; t += 100) {
           if (t < 4'000 || t >= 8'000) h.push_back(put(1, "v" + std::to_string(t), t, t + 5));
         }
         h.push_back(get(2, "v9900", 11'000, 11'010, true));
         FaultRecord pause;
         pause.kind = "pause";
         pause.targets = {"n1"};
         pause.leader = "n1";
         pause.targeted = true;
         pause.start = 1'000 * kMs;
         pause.heal = 2'000 * kMs;  // its interval would reach 5 s
         FaultRecord restart;
         restart.kind = "restart-all";
         restart.targets = {"n1", "n2", "n3"};
         restart.start = 3'900 * kMs;
         restart.heal = 5'000 * kMs;
         const auto r = check(h, {pause, restart});
         return expect(r.availability_breaches.empty() && !r.failed() && r.unavailable_max_s < 1.0,
                       "misattributed: " + report_text(r), why);
       }});
  out.push_back({"an outage around a leader kill breaches availability", [](std::string* why) {
                   std::vector<OpRecord> h;
                   // A write every 100 ms, except from 3 s to 8 s.
                   for (int64_t t = 0; t < 10'000; t += 100) {
                     if (t < 3'000 || t >= 8'000)
                       h.push_back(put(1, "v" + std::to_string(t), t, t + 5));
                   }
                   h.push_back(get(2, "v9900", 11'000, 11'010, true));
                   FaultRecord leader_kill;
                   leader_kill.kind = "kill";
                   leader_kill.targets = {"n1"};
                   leader_kill.leader = "n1";
                   leader_kill.targeted = true;
                   leader_kill.start = 3'500 * kMs;
                   leader_kill.heal = 5'000 * kMs;
                   FaultRecord follower_kill = leader_kill;
                   follower_kill.targets = {"n2"};
                   follower_kill.targeted = false;
                   const auto bad = check(h, {leader_kill});
                   const auto fine = check(h, {follower_kill});
                   return expect(bad.availability_breaches.size() == 1 && bad.failed() &&
                                     bad.unavailable_max_s > 4.4 && !bad.safety_violation() &&
                                     fine.availability_breaches.empty() && !fine.failed(),
                                 "wrong: " + report_text(bad) + report_text(fine), why);
                 }});
  out.push_back({"history lines survive a JSON round trip", [](std::string* why) {
                   const std::vector<OpRecord> h = {
                       put(1, "a", 0, 10, false, true), cas(2, "", "b", false, 20, 30),
                       get(3, std::nullopt, 40, 50, true), get(4, "b", 60, 70)};
                   for (const OpRecord& op : h) {
                     const auto back = op_from_json(nlohmann::json::parse(to_json(op).dump()));
                     if (!back || to_json(*back) != to_json(op)) {
                       *why = "changed: " + to_json(op).dump();
                       return false;
                     }
                   }
                   return true;
                 }});
  return out;
}

}  // namespace

int run_self_test() {
  int failures = 0;
  for (const Case& c : cases()) {
    std::string why;
    const bool ok = c.run(&why);
    std::cout << (ok ? "ok   " : "FAIL ") << c.name << "\n";
    if (!ok) {
      std::cout << why << "\n";
      ++failures;
    }
  }
  std::cout << (failures == 0 ? "self-test: ok" : "self-test: FAILED") << std::endl;
  return failures == 0 ? 0 : 1;
}

}  // namespace shoal::chaos
