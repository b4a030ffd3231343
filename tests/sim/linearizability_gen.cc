#include "tests/sim/linearizability_gen.h"

#include <algorithm>
#include <map>
#include <optional>
#include <utility>

#include "core/rng.h"

namespace shoal::sim {

std::vector<KvOp> generate_history(uint64_t seed, const GenOptions& opt) {
  using Kind = KvOp::Kind;
  using Value = std::optional<std::string>;
  Rng rng(seed);
  std::map<std::string, Value> store;
  std::vector<int64_t> busy_until(opt.clients, -1);
  std::vector<KvOp> h;
  int64_t now = 0;
  int counter = 0;
  while (static_cast<int>(h.size()) < opt.ops) {
    now += rng.uniform_range(1, 3);
    std::vector<uint32_t> free;
    for (int c = 0; c < opt.clients; ++c) {
      if (busy_until[c] < now) free.push_back(static_cast<uint32_t>(c));
    }
    if (free.empty()) continue;
    const uint32_t client = free[rng.uniform(free.size())];
    const std::string key = "k" + std::to_string(rng.uniform(opt.keys));
    Value& cur = store[key];
    const bool indeterminate = rng.chance(opt.indeterminate);
    const bool applied = !indeterminate || rng.chance(0.5);
    KvOp op;
    op.client = client;
    op.key = key;
    const uint64_t dice = rng.uniform(100);
    if (dice < 40) {
      op.kind = Kind::kPut;
      op.value = "v" + std::to_string(counter++);
      if (applied) cur = op.value;
    } else if (dice < 80) {
      op.kind = Kind::kGet;
      op.observed = cur;
    } else if (dice < 88) {
      op.kind = Kind::kDelete;
      if (applied) cur.reset();
    } else {
      op.kind = Kind::kCas;
      op.expected = rng.chance(0.6) ? cur : Value("v" + std::to_string(rng.uniform(counter + 1)));
      op.value = "v" + std::to_string(counter++);
      op.cas_ok = op.expected == cur;
      if (applied && op.cas_ok) cur = op.value;
    }
    op.invoke = std::max(busy_until[client] + 1, now - rng.uniform_range(0, opt.max_latency));
    if (indeterminate) {
      op.ret.reset();
      busy_until[client] = now + opt.max_latency;  // the client timed out
    } else {
      op.ret = now + rng.uniform_range(0, opt.max_latency);
      busy_until[client] = *op.ret;
    }
    h.push_back(std::move(op));
  }
  return h;
}

bool append_stale_read(std::vector<KvOp>& h, const std::string& key) {
  int64_t end = 0;
  for (const KvOp& op : h) end = std::max(end, op.ret.value_or(op.invoke));
  for (const KvOp& op : h) {
    if (op.key == key && op.kind == KvOp::Kind::kPut && op.ret) {
      KvOp read;
      read.kind = KvOp::Kind::kGet;
      read.client = 99;
      read.key = key;
      read.observed = op.value;
      read.invoke = end + 1000;
      read.ret = end + 1001;
      h.push_back(std::move(read));
      return true;
    }
  }
  return false;
}

}  // namespace shoal::sim
