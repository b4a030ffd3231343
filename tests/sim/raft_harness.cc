#include "tests/sim/raft_harness.h"

#include <algorithm>
#include <cstring>
#include <functional>

#include "raft/codec.h"

namespace shoal::sim::raft_sim {

using raft::Entry;
using raft::EntryType;
using raft::Index;
using raft::Message;
using raft::Term;

namespace {

// The KV commands in the log: [op][key length][key][value].
enum CmdOp : uint8_t { kCmdPut = 1, kCmdDelete = 2 };

std::vector<uint8_t> encode_cmd(CmdOp op, const std::string& key, const std::string& value) {
  std::vector<uint8_t> out;
  out.push_back(op);
  out.push_back(static_cast<uint8_t>(key.size()));
  out.insert(out.end(), key.begin(), key.end());
  out.insert(out.end(), value.begin(), value.end());
  return out;
}

void apply_cmd(std::map<std::string, std::string>& kv, const std::vector<uint8_t>& d) {
  SHOAL_CHECK(d.size() >= 2 && d.size() >= 2u + d[1]);
  std::string key(d.begin() + 2, d.begin() + 2 + d[1]);
  if (d[0] == kCmdPut) {
    kv[key] = std::string(d.begin() + 2 + d[1], d.end());
  } else {
    kv.erase(key);
  }
}

void put_u32(std::vector<uint8_t>& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
uint32_t get_u32(const std::vector<uint8_t>& in, size_t& at) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(in.at(at++)) << (8 * i);
  return v;
}

std::vector<uint8_t> encode_kv(const std::map<std::string, std::string>& kv) {
  std::vector<uint8_t> out;
  put_u32(out, static_cast<uint32_t>(kv.size()));
  for (const auto& [k, v] : kv) {
    put_u32(out, static_cast<uint32_t>(k.size()));
    out.insert(out.end(), k.begin(), k.end());
    put_u32(out, static_cast<uint32_t>(v.size()));
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

std::map<std::string, std::string> decode_kv(const std::vector<uint8_t>& in) {
  std::map<std::string, std::string> kv;
  if (in.empty()) return kv;
  size_t at = 0;
  const uint32_t n = get_u32(in, at);
  for (uint32_t i = 0; i < n; ++i) {
    const uint32_t kl = get_u32(in, at);
    std::string k(in.begin() + static_cast<std::ptrdiff_t>(at),
                  in.begin() + static_cast<std::ptrdiff_t>(at + kl));
    at += kl;
    const uint32_t vl = get_u32(in, at);
    std::string v(in.begin() + static_cast<std::ptrdiff_t>(at),
                  in.begin() + static_cast<std::ptrdiff_t>(at + vl));
    at += vl;
    kv.emplace(std::move(k), std::move(v));
  }
  return kv;
}

uint64_t entry_hash(const Entry& e) {
  std::string_view sv(reinterpret_cast<const char*>(e.data.data()), e.data.size());
  return std::hash<std::string_view>{}(sv)*31 + static_cast<uint64_t>(e.type);
}

int64_t ns(TimePoint t) { return t.time_since_epoch().count(); }

}  // namespace

// One simulated node: a Raft core, its store (owned by the harness: the
// disk survives crashes), and the KV state machine (volatile: rebuilt from
// the snapshot and the log on restart).
class RaftHarness::Process final : public sim::Process<Wire> {
 public:
  Process(RaftHarness& h, NodeIndex self) : h_(h), self_(self) {}
  ~Process() override {
    if (h_.procs_[self_] == this) h_.procs_[self_] = nullptr;
  }

  void start(Context<Wire>& ctx) override {
    raft::MemoryLogStore& store = *h_.stores_[self_];
    if (store.last_index().value() == 0 && store.hard_state().term.value() == 0 &&
        self_ < h_.config_.voters) {
      raft::ConfState cs;
      for (NodeIndex i = 0; i < h_.config_.voters; ++i) cs.voters.push_back(id_of(i));
      std::sort(cs.voters.begin(), cs.voters.end());
      SHOAL_CHECK(raft::Raft::bootstrap(store, store, cs).is_ok());
    }
    auto snap = store.snapshot();
    SHOAL_CHECK(snap.is_ok());
    if (!snap->empty()) {
      kv_ = decode_kv(snap->data);
      applied_ = snap->meta.index;
      applied_conf_ = snap->meta.conf;
      last_snapshot_ = applied_;
    }
    raft::Config cfg = h_.config_.raft;
    cfg.id = id_of(self_);
    cfg.applied = applied_;
    rng_ = std::make_unique<Rng>(ctx.rng().next_u64());
    raft_ = std::make_unique<raft::Raft>(cfg, store, *rng_);
    incarnation_ = ctx.incarnation();
    h_.procs_[self_] = this;
    pump(ctx);
  }

  void tick(Context<Wire>& ctx) override {
    raft_->tick();
    pump(ctx);
  }

  void receive(Context<Wire>& ctx, NodeIndex /*from*/, const Wire& w) override {
    Status st = raft_->step(*w.msg);
    if (!st.is_ok())
      h_.fail("node " + std::to_string(self_) + " rejected a message: " + st.to_string());
    pump(ctx);
  }

  raft::Raft* core() { return raft_.get(); }

  void submit_write(Context<Wire>& ctx, uint32_t client, uint64_t seq, CmdOp op,
                    const std::string& key, const std::string& value) {
    auto r = raft_->propose(encode_cmd(op, key, value));
    if (!r) {
      h_.client_done(client, seq, false, std::nullopt, /*definite=*/true);
      return;
    }
    writes_[r->first.value()] = Pending{r->second, client, seq, {}};
    pump(ctx);
  }

  void submit_read(Context<Wire>& ctx, uint32_t client, uint64_t seq, const std::string& key) {
    const uint64_t id = (static_cast<uint64_t>(incarnation_) << 40) | ++next_read_;
    if (!raft_->read_index(id).is_ok()) {
      h_.client_done(client, seq, false, std::nullopt, /*definite=*/true);
      return;
    }
    reads_[id] = Pending{Term(0), client, seq, key};
    pump(ctx);
  }

  // The client ops this node holds; on a crash their outcome is unknown.
  void abandon_all() {
    std::vector<std::pair<uint32_t, uint64_t>> all;
    for (auto& [i, p] : writes_) all.emplace_back(p.client, p.seq);
    for (auto& [i, p] : reads_) all.emplace_back(p.client, p.seq);
    for (auto& w : waiting_) all.emplace_back(w.second.client, w.second.seq);
    writes_.clear();
    reads_.clear();
    waiting_.clear();
    for (auto& [c, s] : all) h_.client_done(c, s, false, std::nullopt, /*definite=*/false);
  }

  const std::map<std::string, std::string>& kv() const { return kv_; }
  Index applied() const { return applied_; }

 private:
  struct Pending {
    Term term;
    uint32_t client = 0;
    uint64_t seq = 0;
    std::string key;
  };

  void pump(Context<Wire>& ctx) {
    raft::MemoryLogStore& store = *h_.stores_[self_];
    while (raft_->has_ready()) {
      raft::Ready rd = raft_->take_ready();
      // 0. A leader's appends may leave before its own write (§10.2.1).
      send_all(ctx, rd.early_messages);
      // 1. Persist, the snapshot first: entries in the same Ready follow it.
      if (rd.snapshot) SHOAL_CHECK(store.save_snapshot(*rd.snapshot).is_ok());
      Status st = store.save(rd.hard_state, rd.entries, rd.must_sync);
      SHOAL_CHECK(st.is_ok());
      h_.on_ready_persisted(self_, rd);
      // 2. Send.
      send_all(ctx, rd.messages);
      // 3. Apply.
      if (rd.snapshot) {
        kv_ = decode_kv(rd.snapshot->data);
        applied_ = rd.snapshot->meta.index;
        applied_conf_ = rd.snapshot->meta.conf;
        last_snapshot_ = applied_;
        ++h_.counters_.snapshots_sent;
      }
      for (const Entry& e : rd.committed) {
        h_.on_applied(self_, e);
        if (e.type == EntryType::kNormal) apply_cmd(kv_, e.data);
        if (e.type == EntryType::kConfChange) {
          auto cs = raft::codec::decode_conf_state(e.data);
          SHOAL_CHECK(cs.is_ok());
          applied_conf_ = *cs;
        }
        applied_ = e.index;
        if (auto it = writes_.find(e.index.value()); it != writes_.end()) {
          const Pending p = it->second;
          writes_.erase(it);
          // Another entry at our index means ours can never commit.
          h_.client_done(p.client, p.seq, p.term == e.term, std::nullopt,
                         /*definite=*/p.term != e.term);
        }
      }
      for (const raft::ReadState& rs : rd.read_states) {
        auto it = reads_.find(rs.context);
        if (it == reads_.end()) continue;
        waiting_.emplace_back(rs.index, it->second);
        reads_.erase(it);
      }
      for (uint64_t id : rd.failed_reads) {
        auto it = reads_.find(id);
        if (it == reads_.end()) continue;
        const Pending p = it->second;
        reads_.erase(it);
        h_.client_done(p.client, p.seq, false, std::nullopt, /*definite=*/true);
      }
      serve_reads();
      if (rd.role_changed) h_.on_role(self_);
      raft_->advance(rd);
      maybe_snapshot(store);
    }
    h_.check_window(self_);
  }

  void send_all(Context<Wire>& ctx, std::vector<Message>& msgs) {
    for (Message& m : msgs) {
      auto to = index_of(m.to);
      if (!to) continue;
      if (h_.config_.codec_roundtrip) {
        auto back = raft::codec::decode_message(raft::codec::encode(m));
        if (!back.is_ok() || !(*back == m)) {
          h_.fail(std::string("codec round trip changed a ") + raft::message_kind_name(m.kind) +
                  " message" + (back.is_ok() ? "" : ": " + back.status().to_string()));
        }
      }
      ctx.send(*to, Wire{std::make_shared<const Message>(std::move(m))});
    }
  }

  void serve_reads() {
    for (auto it = waiting_.begin(); it != waiting_.end();) {
      if (it->first > applied_) {
        ++it;
        continue;
      }
      const Pending p = it->second;
      it = waiting_.erase(it);
      auto kv = kv_.find(p.key);
      h_.client_done(p.client, p.seq, true,
                     kv == kv_.end() ? std::nullopt : std::optional<std::string>(kv->second),
                     false);
    }
  }

  void maybe_snapshot(raft::MemoryLogStore& store) {
    const uint64_t every = h_.config_.snapshot_every;
    if (every == 0 || applied_.value() < last_snapshot_.value() + every) return;
    raft::Snapshot s;
    s.meta.index = applied_;
    s.meta.term = raft_->term_at(applied_);
    s.meta.conf = applied_conf_;
    s.data = encode_kv(kv_);
    const uint64_t keep = h_.config_.snapshot_keep;
    const Index compact_to = Index(std::max(applied_.value() > keep ? applied_.value() - keep : 0,
                                            store.first_index().value() - 1));
    SHOAL_CHECK(store.create_snapshot(s, compact_to).is_ok());
    last_snapshot_ = applied_;
  }

  RaftHarness& h_;
  NodeIndex self_;
  uint32_t incarnation_ = 0;
  std::unique_ptr<Rng> rng_;
  std::unique_ptr<raft::Raft> raft_;
  std::map<std::string, std::string> kv_;
  Index applied_;
  Index last_snapshot_;
  raft::ConfState applied_conf_;
  std::map<uint64_t, Pending> writes_;              // by log index
  std::map<uint64_t, Pending> reads_;               // by read context
  std::vector<std::pair<Index, Pending>> waiting_;  // confirmed, waiting for apply
  uint64_t next_read_ = 0;
};

RaftHarness::RaftHarness(HarnessConfig config) : config_(std::move(config)) {
  const uint32_t n = nodes();
  for (uint32_t i = 0; i < n; ++i) stores_.push_back(std::make_unique<raft::MemoryLogStore>());
  procs_.assign(n, nullptr);
  SimConfig sc;
  sc.seed = config_.seed;
  sc.nodes = n;
  sc.tick_interval = config_.tick;
  sc.network = config_.network;
  sim_ = std::make_unique<RaftSimulator>(
      sc, [this](NodeIndex i) { return std::make_unique<Process>(*this, i); });
  sim_->set_invariant([this](const RaftSimulator&) { return violation_; });
}

// The simulator goes first: its processes unregister from procs_ and their
// cores reference stores_, both of which must still exist.
RaftHarness::~RaftHarness() { sim_.reset(); }

std::optional<NodeIndex> RaftHarness::index_of(const raft::NodeId& id) {
  if (id.hi() != 0 || id.lo() == 0) return std::nullopt;
  return static_cast<NodeIndex>(id.lo() - 1);
}

raft::Raft* RaftHarness::core(NodeIndex i) { return procs_[i] ? procs_[i]->core() : nullptr; }

std::optional<NodeIndex> RaftHarness::leader() const {
  std::optional<NodeIndex> best;
  uint64_t best_term = 0;
  for (NodeIndex i = 0; i < procs_.size(); ++i) {
    if (procs_[i] == nullptr) continue;
    raft::Raft* r = procs_[i]->core();
    if (r->role() == raft::Role::kLeader && r->term().value() >= best_term) {
      best = i;
      best_term = r->term().value();
    }
  }
  return best;
}

void RaftHarness::fail(std::string what) {
  if (violation_.is_ok()) violation_ = Status::internal(std::move(what));
}

void RaftHarness::crash(NodeIndex i) {
  if (!sim_->is_up(i)) return;
  if (procs_[i] != nullptr) {
    raft::Raft* r = procs_[i]->core();
    if (r->role() == raft::Role::kLeader && !leader_lost_at_) {
      leader_lost_at_ = sim_->now();
      lost_term_ = r->term().value();
    }
    procs_[i]->abandon_all();
  }
  sim_->crash(i);
  stores_[i]->power_cut();
}

void RaftHarness::restart(NodeIndex i) {
  if (sim_->is_up(i)) return;
  sim_->restart(i);
}

bool RaftHarness::transfer(NodeIndex i, NodeIndex to) {
  bool ok = false;
  if (procs_[i] == nullptr) return false;
  sim_->with_context(i, [&](Context<Wire>& ctx) {
    ok = procs_[i]->core()->transfer_leader(id_of(to)).is_ok();
    (void)ctx;
  });
  // The core's messages go out at the node's next pump (its next tick at
  // the latest); a transfer is not latency-critical.
  return ok;
}

bool RaftHarness::conf_change(NodeIndex i, const raft::ConfChange& cc) {
  if (procs_[i] == nullptr) return false;
  bool ok = false;
  sim_->with_context(
      i, [&](Context<Wire>&) { ok = procs_[i]->core()->propose_conf_change(cc).is_ok(); });
  return ok;
}

void RaftHarness::on_ready_persisted(NodeIndex i, const raft::Ready& rd) {
  if (!rd.hard_state || !rd.must_sync || rd.hard_state->vote.is_zero()) return;
  const auto key = std::make_pair(i, rd.hard_state->term.value());
  auto [it, fresh] = votes_.emplace(key, rd.hard_state->vote);
  if (!fresh && it->second != rd.hard_state->vote) {
    fail("node " + std::to_string(i) + " voted twice in term " + std::to_string(key.second));
  }
}

void RaftHarness::on_applied(NodeIndex i, const Entry& e) {
  const uint64_t idx = e.index.value();
  const auto rec = std::make_pair(e.term, entry_hash(e));
  if (idx <= applied_.size()) {
    if (applied_[idx - 1] != rec) {
      fail("state-machine safety: node " + std::to_string(i) + " applied a different entry at " +
           std::to_string(idx));
    }
  } else if (idx == applied_.size() + 1) {
    applied_.push_back(rec);
  } else {
    fail("node " + std::to_string(i) + " applied index " + std::to_string(idx) +
         " beyond every applied entry");
  }
}

void RaftHarness::on_role(NodeIndex i) {
  raft::Raft* r = procs_[i]->core();
  if (r->role() != raft::Role::kLeader) return;
  const uint64_t t = r->term().value();
  auto [it, fresh] = leader_of_term_.emplace(t, i);
  if (!fresh && it->second != i) {
    fail("election safety: nodes " + std::to_string(it->second) + " and " + std::to_string(i) +
         " both led term " + std::to_string(t));
    return;
  }
  ++counters_.elections;
  // Leader completeness: every entry ever applied is in the new leader's log.
  for (uint64_t idx = std::max<uint64_t>(r->first_index().value(), 1); idx <= applied_.size();
       ++idx) {
    if (r->term_at(Index(idx)) != applied_[idx - 1].first) {
      fail("leader completeness: node " + std::to_string(i) + " leads term " + std::to_string(t) +
           " without applied entry " + std::to_string(idx));
      return;
    }
  }
  if (leader_lost_at_ && t > lost_term_) {
    gaps_.push_back(std::chrono::duration<double>(sim_->now() - *leader_lost_at_).count());
    leader_lost_at_.reset();
  }
}

namespace {

// Log matching between two cores over [lo, hi]: below the highest index
// where both hold the same term, every term agrees.
bool logs_match(raft::Raft& a, raft::Raft& b, uint64_t lo, uint64_t hi, uint64_t* bad) {
  uint64_t k = hi;
  for (; k >= lo && k > 0; --k) {
    const Term ta = a.term_at(Index(k));
    if (ta.value() != 0 && ta == b.term_at(Index(k))) break;
  }
  for (uint64_t j = k; j >= lo && j > 0; --j) {
    const Term ta = a.term_at(Index(j));
    const Term tb = b.term_at(Index(j));
    if (ta.value() != 0 && tb.value() != 0 && ta != tb) {
      *bad = j;
      return false;
    }
  }
  return true;
}

}  // namespace

void RaftHarness::check_window(NodeIndex i) {
  if (procs_[i] == nullptr) return;
  raft::Raft& a = *procs_[i]->core();
  if (a.commit() > a.last_index()) fail("node " + std::to_string(i) + ": commit beyond its log");
  for (NodeIndex j = 0; j < procs_.size(); ++j) {
    if (j == i || procs_[j] == nullptr) continue;
    raft::Raft& b = *procs_[j]->core();
    const uint64_t hi = std::min(a.last_index().value(), b.last_index().value());
    const uint64_t lo = std::max(
        {a.first_index().value(), b.first_index().value(), hi > 32 ? hi - 32 : uint64_t{1}});
    uint64_t bad = 0;
    if (lo <= hi && !logs_match(a, b, lo, hi, &bad)) {
      fail("log matching: nodes " + std::to_string(i) + " and " + std::to_string(j) +
           " disagree at " + std::to_string(bad));
    }
  }
}

Status RaftHarness::check_final() {
  for (NodeIndex i = 0; i < procs_.size(); ++i) {
    for (NodeIndex j = i + 1; j < procs_.size(); ++j) {
      if (procs_[i] == nullptr || procs_[j] == nullptr) continue;
      raft::Raft& a = *procs_[i]->core();
      raft::Raft& b = *procs_[j]->core();
      const uint64_t hi = std::min(a.last_index().value(), b.last_index().value());
      const uint64_t lo = std::max(a.first_index().value(), b.first_index().value());
      uint64_t bad = 0;
      if (lo <= hi && !logs_match(a, b, lo, hi, &bad)) {
        return Status::internal("log matching: nodes " + std::to_string(i) + " and " +
                                std::to_string(j) + " disagree at " + std::to_string(bad));
      }
      if (procs_[i]->applied() == procs_[j]->applied() && procs_[i]->kv() != procs_[j]->kv()) {
        return Status::internal("nodes " + std::to_string(i) + " and " + std::to_string(j) +
                                " applied the same index into different states");
      }
    }
  }
  return violation_;
}

bool RaftHarness::converged() {
  auto l = leader();
  if (!l) return false;
  raft::Raft* lead = core(*l);
  if (lead->commit() != lead->last_index()) return false;
  for (NodeIndex i = 0; i < procs_.size(); ++i) {
    if (procs_[i] == nullptr || !lead->conf().contains(id_of(i))) continue;
    if (procs_[i]->applied() != lead->commit()) return false;
  }
  return true;
}

// ---- clients ----

void RaftHarness::start_clients(uint32_t clients, std::chrono::nanoseconds think_max) {
  clients_.assign(clients, Client{});
  clients_running_ = true;
  think_max_ = think_max;
  for (uint32_t c = 0; c < clients; ++c) {
    sim_->after(std::chrono::milliseconds(1 + c), [this, c](RaftSimulator&) { client_step(c); });
  }
}

void RaftHarness::client_step(uint32_t c) {
  if (!clients_running_) return;
  Client& cl = clients_[c];
  if (cl.op) return;
  // The workload's own choices come from a generator derived from the seed
  // and the op count, so they replay exactly.
  Rng rng(config_.seed * 0x9e3779b97f4a7c15ULL + c * 1000003ULL + cl.seq);
  std::vector<NodeIndex> up;
  for (NodeIndex i = 0; i < procs_.size(); ++i) {
    if (procs_[i] != nullptr) up.push_back(i);
  }
  auto retry = [&] {
    sim_->after(std::chrono::milliseconds(50), [this, c](RaftSimulator&) { client_step(c); });
  };
  if (up.empty()) return retry();
  const std::string key = "k" + std::to_string(rng.uniform(config_.keys));
  const uint64_t roll = rng.uniform(100);
  const uint64_t seq = ++cl.seq;
  const int64_t now = ns(sim_->now());
  if (roll < 45) {
    NodeIndex at = up[rng.uniform(up.size())];
    if (auto l = leader(); l && rng.chance(0.9)) at = *l;  // clients mostly find the leader
    const std::string value = "c" + std::to_string(c) + "-" + std::to_string(++cl.values);
    const bool del = roll < 8;
    cl.op = del ? history_.invoke_delete(c, key, now) : history_.invoke_put(c, key, value, now);
    cl.kind = del ? 2 : 0;
    sim_->with_context(at, [&](Context<Wire>& ctx) {
      procs_[at]->submit_write(ctx, c, seq, del ? kCmdDelete : kCmdPut, key, value);
    });
  } else {
    const NodeIndex at = up[rng.uniform(up.size())];
    cl.op = history_.invoke_get(c, key, now);
    cl.kind = 1;
    sim_->with_context(at, [&](Context<Wire>& ctx) { procs_[at]->submit_read(ctx, c, seq, key); });
  }
  if (cl.op && clients_[c].seq == seq) {
    sim_->after(config_.client_timeout, [this, c, seq](RaftSimulator&) {
      client_done(c, seq, false, std::nullopt, /*definite=*/false);
    });
  }
}

void RaftHarness::client_done(uint32_t c, uint64_t seq, bool ok,
                              std::optional<std::string> observed, bool definite_failure) {
  if (c >= clients_.size()) return;
  Client& cl = clients_[c];
  if (cl.seq != seq || !cl.op) return;
  const int64_t now = ns(sim_->now());
  if (ok) {
    if (cl.kind == 1) {
      history_.complete_get(*cl.op, std::move(observed), now);
      ++counters_.gets_ok;
    } else {
      history_.complete(*cl.op, now);
      ++(cl.kind == 2 ? counters_.deletes_ok : counters_.puts_ok);
    }
  } else if (definite_failure) {
    history_.fail(*cl.op);
    ++counters_.failed;
  } else {
    ++counters_.indeterminate;  // left open: the op may or may not have happened
  }
  cl.op.reset();
  ++cl.seq;  // late answers for this op are ignored from now on
  if (!clients_running_) return;
  Rng rng(config_.seed ^ (c * 7919ULL + cl.seq * 104729ULL));
  const auto think = std::chrono::nanoseconds(
      think_max_.count() > 0 ? rng.uniform(static_cast<uint64_t>(think_max_.count())) : 0);
  sim_->after(think + std::chrono::microseconds(1), [this, c](RaftSimulator&) { client_step(c); });
}

}  // namespace shoal::sim::raft_sim
