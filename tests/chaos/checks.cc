// The chaos run's checks: linearizability (tests/sim's checker), lost
// acknowledged writes, and availability around faults.
#include "tests/chaos/checks.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "tests/chaos/options.h"

namespace shoal::chaos {

namespace {

bool has_target_kind(const std::string& kind) {
  return kind == "kill" || kind == "pause" || kind == "partition";
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

double to_s(int64_t ns) { return static_cast<double>(ns) / 1e9; }

std::string describe_op(const OpRecord& op) {
  std::string s = "client " + std::to_string(op.client) + " " + kind_name(op.kind) + "(" + op.key;
  if (op.kind == OpRecord::Kind::kCas) s += ", \"" + op.expect.value_or("") + "\" ->";
  if (op.value) s += " \"" + *op.value + "\"";
  s += ") [" + fixed(to_s(op.call), 3) + " s, " + fixed(to_s(op.ret), 3) + " s] via " + op.node;
  return s;
}

// Lost acknowledged writes (check 2).
void find_lost_writes(const std::vector<OpRecord>& history, CheckReport* r) {
  std::map<std::string, const OpRecord*> final_read;  // key -> the last final read with an answer
  // (key, value) -> the op that wrote it
  std::map<std::pair<std::string, std::string>, const OpRecord*> writer;
  std::map<std::string, std::vector<const OpRecord*>> acked;
  for (const OpRecord& op : history) {
    if (op.final_read && op.ok && op.kind == OpRecord::Kind::kGet) {
      auto& f = final_read[op.key];
      if (f == nullptr || f->call < op.call) f = &op;
    }
    if (op.is_write() && op.value) writer.emplace(std::pair{op.key, *op.value}, &op);
    if (op.acknowledged_write()) acked[op.key].push_back(&op);
  }
  for (const auto& [key, writes] : acked) {
    auto f = final_read.find(key);
    if (f == final_read.end()) {
      // The cluster could not serve it once the faults stopped: none of its
      // acknowledged writes is readable, which is what "lost" means here.
      r->unread_keys.push_back(key);
      for (const OpRecord* w : writes) {
        ++r->lost;
        if (r->lost_examples.size() < 10) {
          r->lost_examples.push_back(
              describe_op(*w) + ": unreadable, the cluster could not serve its key at the end");
        }
      }
      continue;
    }
    const std::optional<std::string>& final_value = f->second->read;
    const OpRecord* final_writer = nullptr;
    if (final_value) {
      auto w = writer.find(std::pair{key, *final_value});
      if (w != writer.end()) final_writer = w->second;
    }
    for (const OpRecord* w : writes) {
      std::string why;
      if (!final_value) {
        why = "the final read found the key absent";
      } else if (final_writer == nullptr) {
        why = "the final read found \"" + *final_value + "\", which no op wrote";
      } else if (final_writer != w && !final_writer->unknown && final_writer->ret < w->call) {
        why =
            "the final read found \"" + *final_value + "\", written by an op that returned before";
      } else {
        continue;
      }
      ++r->lost;
      if (r->lost_examples.size() < 10) r->lost_examples.push_back(describe_op(*w) + ": " + why);
    }
  }
}

// Availability around faults (check 3).
void measure_availability(const std::vector<OpRecord>& history,
                          const std::vector<FaultRecord>& faults, double max_unavailable_s,
                          CheckReport* r) {
  std::vector<const OpRecord*> ops;
  for (const OpRecord& op : history) {
    if (!op.final_read) ops.push_back(&op);
  }
  if (ops.empty()) return;
  int64_t first = ops.front()->call;
  int64_t last = ops.front()->ret;
  std::vector<int64_t> points;
  for (const OpRecord* op : ops) {
    first = std::min(first, op->call);
    last = std::max(last, op->ret);
    if (op->is_write() && op->ok) points.push_back(op->ret);
  }
  points.push_back(first);
  points.push_back(last);
  std::sort(points.begin(), points.end());

  struct Interval {
    int64_t a, b;
  };
  // A fault's interval runs from its start to 3 s after its heal, but never
  // into the next fault: an outage the next fault causes (a restart of all
  // agents 2 s after a pause healed) is not the earlier fault's.
  auto interval_of = [&](const FaultRecord& f) {
    int64_t b = f.heal.value_or(last) + kHealTailNs;
    for (const FaultRecord& g : faults) {
      if (g.start > f.start) b = std::min(b, g.start);
    }
    return Interval{f.start, std::max(b, f.start)};
  };
  // The longest time within [a, b] between consecutive successful writes
  // (each gap clipped to the interval).
  auto window = [&](Interval iv) {
    int64_t longest = 0;
    auto it = std::upper_bound(points.begin(), points.end(), iv.a);
    size_t i = it == points.begin() ? 0 : static_cast<size_t>(it - points.begin()) - 1;
    for (; i + 1 < points.size() && points[i] < iv.b; ++i) {
      if (points[i + 1] <= iv.a) continue;
      longest = std::max(longest, std::min(points[i + 1], iv.b) - std::max(points[i], iv.a));
    }
    return longest;
  };
  auto failed_share = [&](const std::vector<Interval>& ivs) {
    size_t invoked = 0, failed = 0;
    for (const OpRecord* op : ops) {
      const bool inside = std::any_of(ivs.begin(), ivs.end(), [&](const Interval& iv) {
        return op->call >= iv.a && op->call <= iv.b;
      });
      if (!inside) continue;
      ++invoked;
      if (!op->ok) ++failed;
    }
    return invoked == 0 ? 0.0 : static_cast<double>(failed) / static_cast<double>(invoked);
  };

  std::vector<Interval> all;
  for (KindReport& k : r->kinds) {
    std::vector<Interval> ivs;
    for (const FaultRecord& f : faults) {
      if (f.kind != k.kind) continue;
      const Interval iv = interval_of(f);
      ivs.push_back(iv);
      all.push_back(iv);
      const double w = to_s(window(iv));
      k.unavailable_max_s = std::max(k.unavailable_max_s, w);
      if (f.targeted && has_target_kind(f.kind) && w > max_unavailable_s) {
        std::string what = f.kind + " at " + fixed(to_s(f.start), 3) + " s of " +
                           (f.detail.empty() ? join_list(f.targets) : f.detail);
        if (!f.leader.empty()) what += " (leader " + f.leader + ")";
        r->availability_breaches.push_back(what + ": no write succeeded for " + fixed(w, 2) +
                                           " s (limit " + fixed(max_unavailable_s, 2) + " s)");
      }
    }
    k.failed_share = failed_share(ivs);
    if (has_target_kind(k.kind))
      r->unavailable_max_s = std::max(r->unavailable_max_s, k.unavailable_max_s);
  }
  r->failed_share = failed_share(all);
}

}  // namespace

bool CheckReport::safety_violation() const {
  return lost > 0 || (!linearizability.linearizable && !linearizability.gave_up);
}

bool CheckReport::failed() const {
  return safety_violation() || !linearizability.linearizable || !unread_keys.empty() ||
         !availability_breaches.empty();
}

std::vector<sim::KvOp> to_kv_ops(const std::vector<OpRecord>& history) {
  std::vector<sim::KvOp> out;
  out.reserve(history.size());
  for (const OpRecord& op : history) {
    if (!op.ok && !op.unknown) continue;                          // definitely did not happen
    if (op.unknown && op.kind == OpRecord::Kind::kGet) continue;  // constrains nothing
    sim::KvOp k;
    k.client = static_cast<uint32_t>(op.client);
    k.key = op.key;
    k.invoke = op.call;
    if (!op.unknown) k.ret = op.ret;
    switch (op.kind) {
      case OpRecord::Kind::kGet:
        k.kind = sim::KvOp::Kind::kGet;
        k.observed = op.read;
        break;
      case OpRecord::Kind::kPut:
        k.kind = sim::KvOp::Kind::kPut;
        k.value = op.value;
        break;
      case OpRecord::Kind::kCas:
        k.kind = sim::KvOp::Kind::kCas;
        if (op.expect && !op.expect->empty()) k.expected = *op.expect;
        k.value = op.value;
        k.cas_ok = op.applied;
        break;
    }
    out.push_back(std::move(k));
  }
  return out;
}

CheckReport check_run(const std::vector<OpRecord>& history, const std::vector<FaultRecord>& faults,
                      const std::vector<std::string>& kinds, double max_unavailable_s,
                      uint64_t states_per_key) {
  CheckReport r;
  r.ops = history.size();
  r.faults = static_cast<int>(faults.size());
  for (const OpRecord& op : history) r.acknowledged += op.acknowledged_write() ? 1 : 0;
  for (const char* kind : kFaultKinds) {
    const bool wanted = std::find(kinds.begin(), kinds.end(), kind) != kinds.end() ||
                        std::any_of(faults.begin(), faults.end(),
                                    [&](const FaultRecord& f) { return f.kind == kind; });
    if (!wanted) continue;
    KindReport k;
    k.kind = kind;
    k.faults = static_cast<int>(std::count_if(
        faults.begin(), faults.end(), [&](const FaultRecord& f) { return f.kind == kind; }));
    r.kinds.push_back(k);
  }
  r.states_per_key = states_per_key;
  r.linearizability = sim::check_linearizable(to_kv_ops(history), states_per_key);
  find_lost_writes(history, &r);
  measure_availability(history, faults, max_unavailable_s, &r);
  return r;
}

std::string kind_line(const KindReport& k) {
  return "chaos kind=" + k.kind + " faults=" + std::to_string(k.faults) +
         " unavailable_max_s=" + fixed(k.unavailable_max_s, 2) +
         " failed_share=" + fixed(k.failed_share, 3);
}

std::string summary_line(const CheckReport& r) {
  return "chaos faults=" + std::to_string(r.faults) + " ops=" + std::to_string(r.ops) +
         " acknowledged=" + std::to_string(r.acknowledged) + " lost=" + std::to_string(r.lost) +
         " linearizable=" + (r.linearizability.linearizable ? "yes" : "no") +
         " unavailable_max_s=" + fixed(r.unavailable_max_s, 2) +
         " failed_share=" + fixed(r.failed_share, 3);
}

std::string report_text(const CheckReport& r) {
  std::string out;
  for (const KindReport& k : r.kinds) out += kind_line(k) + "\n";
  out += summary_line(r) + "\n";
  if (!r.linearizability.linearizable) {
    out += r.linearizability.gave_up
               ? "chaos check: FAILED: the linearizability checker gave up (budget " +
                     std::to_string(r.states_per_key) + " states per key): "
               : "chaos check: FAILED: the history is not linearizable:\n";
    out += r.linearizability.explanation + "\n";
  }
  if (r.lost > 0) {
    out += "chaos check: FAILED: " + std::to_string(r.lost) + " acknowledged writes lost:\n";
    for (const auto& l : r.lost_examples) out += "  " + l + "\n";
  }
  for (const auto& k : r.unread_keys) {
    out +=
        "chaos check: FAILED: no final read of " + k + ": its acknowledged writes count as lost\n";
  }
  for (const auto& b : r.availability_breaches) {
    out += "chaos check: FAILED: availability: " + b + "\n";
  }
  return out;
}

}  // namespace shoal::chaos
