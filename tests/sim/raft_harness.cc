#include "tests/sim/raft_harness.h"

#include <algorithm>
#include <functional>
#include <string_view>
#include <utility>

#include "raft/codec.h"
#include "tests/sim/raft_kv_machine.h"
#include "tests/sim/sim_host_executor.h"
#include "tests/sim/sim_log_writer.h"

namespace shoal::sim::raft_sim {

using raft::Entry;
using raft::Index;
using raft::Message;
using raft::Term;

namespace {

uint64_t entry_hash(const Entry& e) {
  std::string_view sv(reinterpret_cast<const char*>(e.data.data()), e.data.size());
  return std::hash<std::string_view>{}(sv)*31 + static_cast<uint64_t>(e.type);
}

int64_t ns(TimePoint t) { return t.time_since_epoch().count(); }

}  // namespace

// One simulated node: a production RaftHost on the node's executor, writing
// the node's store (owned by the harness: the disk survives crashes) through
// a SimLogWriter, applying to a KvMachine (volatile: rebuilt by the host
// from the snapshot and the log on restart), sending through the simulator.
// Every callback runs inside exec_.run(), which drains the host's work.
class RaftHarness::Process final : public sim::Process<Wire>, private node::Transport {
 public:
  Process(RaftHarness& h, NodeIndex self)
      : h_(h),
        self_(self),
        exec_(*h.sim_, self),
        writer_(*h.stores_[self], SimLogWriter::Hooks{[this] { return die_in_sync(); },
                                                      [this](const raft::HardState& hs) {
                                                        h_.on_synced_hard_state(self_, hs);
                                                      }}),
        machine_(KvMachine::Hooks{[this](const Entry& e) { on_apply(e); },
                                  [this](const raft::Snapshot&) {
                                    // An install from the leader (not the restore at open).
                                    if (host_ != nullptr && !frozen_) ++h_.counters_.snapshots_sent;
                                  }}) {}

  ~Process() override {
    if (h_.procs_[self_] == this) h_.procs_[self_] = nullptr;
  }

  void start(Context<Wire>& ctx) override {
    h_.procs_[self_] = this;
    exec_.run(ctx, [&] {
      const HarnessConfig& cfg = h_.config_;
      node::RaftHostOptions o;
      o.raft = cfg.raft;
      o.raft.id = id_of(self_);
      if (self_ < cfg.voters) {
        raft::ConfState cs;
        for (NodeIndex i = 0; i < cfg.voters; ++i) cs.voters.push_back(id_of(i));
        std::sort(cs.voters.begin(), cs.voters.end());
        o.bootstrap = cs;
      }
      o.tick = cfg.tick;
      o.rng_seed = ctx.rng().next_u64() | 1;  // never 0 (that would read the OS CSPRNG)
      o.compact_every = cfg.compact_every;
      o.compact_keep = cfg.compact_keep;
      o.compact_min_interval = cfg.compact_min_interval;
      o.negative_controls = cfg.faults;
      o.on_role_change = [this](bool leader, uint64_t term, const raft::NodeId&) {
        if (!frozen_) h_.on_role(self_, leader, term);
      };
      auto host = node::RaftHost::open_with(std::move(o), *h_.stores_[self_], writer_, exec_, *this,
                                            machine_);
      SHOAL_CHECK_MSG(host.is_ok(), "raft sim: the host does not open");
      host_ = std::move(*host);
      // The host starts ticking at a random phase of its tick.
      start_timer_ = exec_.make_timer();
      const auto phase = Duration(
          static_cast<int64_t>(ctx.rng().uniform(static_cast<uint64_t>(cfg.tick.count()))));
      start_timer_->arm(ctx.now() + phase, [this] { host_->start(); });
    });
    h_.check_window(self_);
  }

  void receive(Context<Wire>& ctx, NodeIndex /*from*/, const Wire& w) override {
    act(ctx, [&] { host_->deliver(*w.msg); });
  }

  void timer(Context<Wire>& ctx, uint64_t token) override {
    if (frozen_) return;
    exec_.fire(ctx, token);
    h_.check_window(self_);
  }

  // Runs f as this node (its host's entry points), then the host's work.
  template <class F>
  void act(Context<Wire>& ctx, F&& f) {
    if (frozen_) return;
    exec_.run(ctx, std::forward<F>(f));
    h_.check_window(self_);
  }

  // Client ops; call inside act().
  void submit_write(uint32_t c, uint64_t seq, std::vector<uint8_t> cmd) {
    host_->propose(std::move(cmd), [this, c, seq](Status st, Index) {
      if (!frozen_) h_.write_done(c, seq, st);
    });
  }
  void submit_read(uint32_t c, uint64_t seq, std::string key) {
    host_->read([this, c, seq, key = std::move(key)](Status st) {
      if (frozen_) return;
      // A read that failed did nothing: a definite failure.
      h_.client_done(c, seq, st.is_ok(), st.is_ok() ? machine_.get(key) : std::nullopt,
                     /*definite_failure=*/!st.is_ok());
    });
  }

  bool frozen() const { return frozen_; }
  node::RaftHost& host() { return *host_; }
  const KvMachine& machine() const { return machine_; }

 private:
  void send(const Message& m) override {
    if (frozen_) return;
    auto to = index_of(m.to);
    if (!to || *to >= h_.nodes()) return;
    Context<Wire>* ctx = exec_.context();
    SHOAL_CHECK_MSG(ctx != nullptr, "raft sim: a host sent outside a callback");
    if (!h_.config_.codec_roundtrip) {
      ctx->send(*to, Wire{std::make_shared<const Message>(m)});
      return;
    }
    // The peer gets what the codec decoded.
    auto back = raft::codec::decode_message(raft::codec::encode(m));
    if (!back.is_ok() || !(*back == m)) {
      h_.fail(std::string("codec round trip changed a ") + raft::message_kind_name(m.kind) +
              " message" + (back.is_ok() ? "" : ": " + back.status().to_string()));
      return;
    }
    ctx->send(*to, Wire{std::make_shared<const Message>(std::move(*back))});
  }

  void on_apply(const Entry& e) {
    if (frozen_) return;
    h_.on_applied(self_, e);
    if (Context<Wire>* ctx = exec_.context()) ctx->trace(mix64(e.index.value(), e.term.value()));
  }

  // The SimLogWriter asks before each synced save of a running host.
  bool die_in_sync() {
    if (host_ == nullptr || frozen_ || !h_.roll_fsync_death()) return false;
    // From here on nothing this incarnation does is seen: the rest of the
    // host's pass runs, but sends, answers and applies are dropped.
    frozen_ = true;
    exec_.halt();
    h_.on_died_in_fsync(self_);
    return true;
  }

  RaftHarness& h_;
  NodeIndex self_;
  bool frozen_ = false;  // died inside an fsync; the crash comes at once
  SimHostExecutor<Wire> exec_;
  SimLogWriter writer_;
  KvMachine machine_;
  std::unique_ptr<node::HostTimer> start_timer_;
  std::unique_ptr<node::RaftHost> host_;  // declared last: destroyed first
};

RaftHarness::RaftHarness(HarnessConfig config)
    : config_(std::move(config)), fsync_rng_(Rng(config_.seed).fork(0xf5)) {
  const uint32_t n = nodes();
  for (uint32_t i = 0; i < n; ++i) stores_.push_back(std::make_unique<raft::MemoryLogStore>());
  procs_.assign(n, nullptr);
  SimConfig sc;
  sc.seed = config_.seed;
  sc.nodes = n;
  sc.tick_interval = Duration::zero();  // the hosts arm their own tick timers
  sc.network = config_.network;
  sim_ = std::make_unique<RaftSimulator>(
      sc, [this](NodeIndex i) { return std::make_unique<Process>(*this, i); });
  sim_->set_invariant([this](const RaftSimulator&) { return violation_; });
}

// The simulator goes first: its processes unregister from procs_ and their
// hosts write stores_, both of which must still exist. The hosts answer
// their pending clients as they stop; those answers are not recorded.
RaftHarness::~RaftHarness() {
  tearing_down_ = true;
  sim_.reset();
}

std::optional<NodeIndex> RaftHarness::index_of(const raft::NodeId& id) {
  if (id.hi() != 0 || id.lo() == 0) return std::nullopt;
  return static_cast<NodeIndex>(id.lo() - 1);
}

bool RaftHarness::up(NodeIndex i) const { return procs_[i] != nullptr && !procs_[i]->frozen(); }

bool RaftHarness::is_leader(NodeIndex i) const { return up(i) && procs_[i]->host().is_leader(); }

std::optional<NodeIndex> RaftHarness::leader() const {
  std::optional<NodeIndex> best;
  uint64_t best_term = 0;
  for (NodeIndex i = 0; i < procs_.size(); ++i) {
    if (!is_leader(i)) continue;
    const uint64_t t = procs_[i]->host().term();
    if (t >= best_term) {
      best = i;
      best_term = t;
    }
  }
  return best;
}

const node::RaftHostStats* RaftHarness::host_stats(NodeIndex i) const {
  return up(i) ? &procs_[i]->host().stats() : nullptr;
}

std::optional<node::RaftStatus> RaftHarness::status(NodeIndex i) {
  if (!up(i)) return std::nullopt;
  // Shared with the callback: a host that dies before answering answers as
  // it is destroyed, later.
  auto out = std::make_shared<std::optional<node::RaftStatus>>();
  sim_->with_context(i, [&](Context<Wire>& ctx) {
    Process& p = *procs_[i];
    p.act(ctx, [&] { p.host().status([out](node::RaftStatus st) { *out = std::move(st); }); });
  });
  return up(i) ? *out : std::nullopt;
}

void RaftHarness::fail(std::string what) {
  if (violation_.is_ok()) violation_ = Status::internal(std::move(what));
}

void RaftHarness::note_leader_lost(NodeIndex i) {
  if (procs_[i] == nullptr || !procs_[i]->host().is_leader() || leader_lost_at_) return;
  leader_lost_at_ = sim_->now();
  lost_term_ = procs_[i]->host().term();
}

void RaftHarness::crash(NodeIndex i) {
  if (!sim_->is_up(i)) return;
  note_leader_lost(i);
  sim_->crash(i);
  stores_[i]->power_cut();
}

void RaftHarness::restart(NodeIndex i) {
  if (sim_->is_up(i)) return;
  sim_->restart(i);
}

bool RaftHarness::transfer(NodeIndex i, NodeIndex to) {
  if (!up(i)) return false;
  auto res = std::make_shared<std::optional<Status>>();
  sim_->with_context(i, [&](Context<Wire>& ctx) {
    Process& p = *procs_[i];
    p.act(ctx, [&] { p.host().transfer_leader(id_of(to), [res](Status st) { *res = st; }); });
  });
  return res->has_value() && (*res)->is_ok();
}

bool RaftHarness::conf_change(NodeIndex i, const raft::ConfChange& cc) {
  if (!up(i)) return false;
  auto res = std::make_shared<std::optional<Status>>();
  sim_->with_context(i, [&](Context<Wire>& ctx) {
    Process& p = *procs_[i];
    p.act(ctx, [&] { p.host().propose_conf_change(cc, [res](Status st, Index) { *res = st; }); });
  });
  // Unanswered: accepted, waiting to be applied.
  return !res->has_value() || (*res)->is_ok();
}

// ---- the ledger ----

void RaftHarness::on_synced_hard_state(NodeIndex i, const raft::HardState& hs) {
  if (hs.vote.is_zero()) return;
  const auto key = std::make_pair(i, hs.term.value());
  auto [it, fresh] = votes_.emplace(key, hs.vote);
  if (!fresh && it->second != hs.vote) {
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

namespace {

Term term_or_zero(const raft::LogStore& s, Index i) {
  auto t = s.term(i);
  return t.is_ok() ? *t : Term(0);
}

// Log matching between two logs over [lo, hi]: below the highest index
// where both hold the same term, every term agrees.
bool logs_match(const raft::LogStore& a, const raft::LogStore& b, uint64_t lo, uint64_t hi,
                uint64_t* bad) {
  uint64_t k = hi;
  for (; k >= lo && k > 0; --k) {
    const Term ta = term_or_zero(a, Index(k));
    if (ta.value() != 0 && ta == term_or_zero(b, Index(k))) break;
  }
  for (uint64_t j = k; j >= lo && j > 0; --j) {
    const Term ta = term_or_zero(a, Index(j));
    const Term tb = term_or_zero(b, Index(j));
    if (ta.value() != 0 && tb.value() != 0 && ta != tb) {
      *bad = j;
      return false;
    }
  }
  return true;
}

}  // namespace

void RaftHarness::on_role(NodeIndex i, bool leader, uint64_t t) {
  if (!leader) return;
  auto [it, fresh] = leader_of_term_.emplace(t, i);
  if (!fresh && it->second != i) {
    fail("election safety: nodes " + std::to_string(it->second) + " and " + std::to_string(i) +
         " both led term " + std::to_string(t));
    return;
  }
  ++counters_.elections;
  // Leader completeness: every entry ever applied is in the new leader's
  // log (its store: the host calls this after persisting the Ready).
  const raft::MemoryLogStore& log = *stores_[i];
  for (uint64_t idx = std::max<uint64_t>(log.first_index().value(), 1); idx <= applied_.size();
       ++idx) {
    if (term_or_zero(log, Index(idx)) != applied_[idx - 1].first) {
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

void RaftHarness::check_window(NodeIndex i) {
  if (!up(i)) return;
  if (const uint64_t n = procs_[i]->host().stats().messages_rejected.load(); n != 0) {
    fail("node " + std::to_string(i) + "'s core rejected " + std::to_string(n) + " message(s)");
  }
  const raft::MemoryLogStore& a = *stores_[i];
  if (a.hard_state().commit > a.last_index()) {
    fail("node " + std::to_string(i) + ": commit beyond its log");
  }
  for (NodeIndex j = 0; j < procs_.size(); ++j) {
    if (j == i || !up(j)) continue;
    const raft::MemoryLogStore& b = *stores_[j];
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
      if (!up(i) || !up(j)) continue;
      const raft::MemoryLogStore& a = *stores_[i];
      const raft::MemoryLogStore& b = *stores_[j];
      const uint64_t hi = std::min(a.last_index().value(), b.last_index().value());
      const uint64_t lo = std::max(a.first_index().value(), b.first_index().value());
      uint64_t bad = 0;
      if (lo <= hi && !logs_match(a, b, lo, hi, &bad)) {
        return Status::internal("log matching: nodes " + std::to_string(i) + " and " +
                                std::to_string(j) + " disagree at " + std::to_string(bad));
      }
      const KvMachine& ma = procs_[i]->machine();
      const KvMachine& mb = procs_[j]->machine();
      if (ma.applied() == mb.applied() && ma.kv() != mb.kv()) {
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
  const std::optional<node::RaftStatus> st = status(*l);
  if (!st || st->role != raft::Role::kLeader || st->commit != st->last_index) return false;
  for (NodeIndex i = 0; i < procs_.size(); ++i) {
    if (!up(i) || !st->conf.contains(id_of(i))) continue;
    if (procs_[i]->machine().applied().value() != st->commit) return false;
  }
  return true;
}

// ---- dying inside an fsync ----

bool RaftHarness::roll_fsync_death() {
  return config_.crash_in_fsync > 0 && fsync_rng_.chance(config_.crash_in_fsync);
}

void RaftHarness::on_died_in_fsync(NodeIndex i) {
  ++counters_.fsync_crashes;
  note_leader_lost(i);
  const uint32_t incarnation = sim_->incarnation(i);
  const auto max =
      static_cast<uint64_t>(std::max<int64_t>(config_.fsync_crash_downtime_max.count(), 1));
  const auto down = Duration(static_cast<int64_t>(1 + fsync_rng_.uniform(max)));
  // Now, as a script: a process cannot be crashed from its own callback.
  sim_->after(Duration::zero(), [this, i, incarnation, down](RaftSimulator& s) {
    if (s.incarnation(i) != incarnation) return;  // crashed meanwhile
    crash(i);
    s.after(down, [this, i](RaftSimulator&) { restart(i); });
  });
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
  std::vector<NodeIndex> live;
  for (NodeIndex i = 0; i < procs_.size(); ++i) {
    if (up(i)) live.push_back(i);
  }
  if (live.empty()) {
    sim_->after(std::chrono::milliseconds(50), [this, c](RaftSimulator&) { client_step(c); });
    return;
  }
  const std::string key = "k" + std::to_string(rng.uniform(config_.keys));
  const uint64_t roll = rng.uniform(100);
  const uint64_t seq = ++cl.seq;
  const int64_t now = ns(sim_->now());
  if (roll < 45) {
    NodeIndex at = live[rng.uniform(live.size())];
    if (auto l = leader(); l && rng.chance(0.9)) at = *l;  // clients mostly find the leader
    const std::string value = "c" + std::to_string(c) + "-" + std::to_string(++cl.values);
    const bool del = roll < 8;
    cl.op = del ? history_.invoke_delete(c, key, now) : history_.invoke_put(c, key, value, now);
    cl.kind = del ? 2 : 0;
    std::vector<uint8_t> cmd =
        del ? KvMachine::delete_command(key) : KvMachine::put_command(key, value);
    sim_->with_context(at, [&](Context<Wire>& ctx) {
      Process& p = *procs_[at];
      p.act(ctx, [&] { p.submit_write(c, seq, std::move(cmd)); });
    });
  } else {
    const NodeIndex at = live[rng.uniform(live.size())];
    cl.op = history_.invoke_get(c, key, now);
    cl.kind = 1;
    sim_->with_context(at, [&](Context<Wire>& ctx) {
      Process& p = *procs_[at];
      p.act(ctx, [&] { p.submit_read(c, seq, key); });
    });
  }
  if (cl.op && clients_[c].seq == seq) {
    sim_->after(config_.client_timeout, [this, c, seq](RaftSimulator&) {
      client_done(c, seq, false, std::nullopt, /*definite_failure=*/false);
    });
  }
}

void RaftHarness::write_done(uint32_t c, uint64_t seq, const Status& st) {
  switch (st.code()) {
    case StatusCode::kOk:
      client_done(c, seq, true, std::nullopt, false);
      return;
    case StatusCode::kUnavailable:  // guaranteed never to commit
      client_done(c, seq, false, std::nullopt, /*definite_failure=*/true);
      return;
    case StatusCode::kOutcomeUnknown:
      client_done(c, seq, false, std::nullopt, /*definite_failure=*/false);
      return;
    default:
      fail("a proposal was answered " + st.to_string());
      client_done(c, seq, false, std::nullopt, /*definite_failure=*/false);
      return;
  }
}

void RaftHarness::client_done(uint32_t c, uint64_t seq, bool ok,
                              std::optional<std::string> observed, bool definite_failure) {
  if (tearing_down_ || c >= clients_.size()) return;
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
