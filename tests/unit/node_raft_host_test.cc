// RaftHost (node/consensus/raft_host.h) on one node with a real RocksDB log: proposals
// are applied and survive a restart (the log is replayed into a fresh state
// machine), and a failing fsync stops the process (fail-stop) instead of
// acknowledging what the disk may have lost. On two nodes wired in memory:
// membership changes, leader transfer and status(); and read_committed()
// for observers that follow the log.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <condition_variable>
#include <csignal>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <string>

#include "node/consensus/raft_host.h"
#include "raft/fault_fs.h"
#include "tests/unit/raft_host_test_util.h"
#include "tests/unit/temp_dir.h"

namespace shoal::node {
namespace {

struct NoNetwork : Transport {
  void send(const raft::Message&) override {}
};

// Records applied commands; lets the test wait for a count.
struct Recorder : StateMachine {
  void apply(const raft::Entry& e) override {
    std::lock_guard lk(mu);
    if (e.type == raft::EntryType::kNormal) cmds.emplace_back(e.data.begin(), e.data.end());
    last_applied = e.index.value();
    cv.notify_all();
  }
  bool wait_for(size_t n) {
    std::unique_lock lk(mu);
    return cv.wait_for(lk, std::chrono::seconds(20), [&] { return cmds.size() >= n; });
  }
  // Waits until the entry at `index` is applied.
  bool wait_applied(uint64_t index) {
    std::unique_lock lk(mu);
    return cv.wait_for(lk, std::chrono::seconds(20), [&] { return last_applied >= index; });
  }
  std::vector<std::string> commands() {
    std::lock_guard lk(mu);
    return cmds;
  }
  // The image: the commands, one per line (test commands have no newline).
  std::vector<uint8_t> snapshot() override {
    std::lock_guard lk(mu);
    std::string img;
    for (const std::string& c : cmds) img += c + "\n";
    ++snapshots;
    return {img.begin(), img.end()};
  }
  void restore(const raft::Snapshot& snap) override {
    std::lock_guard lk(mu);
    cmds.clear();
    std::string cur;
    for (uint8_t b : snap.data) {
      if (b == '\n') {
        cmds.push_back(cur);
        cur.clear();
      } else {
        cur.push_back(static_cast<char>(b));
      }
    }
    ++restores;
  }
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> cmds;
  uint64_t last_applied = 0;
  int snapshots = 0;
  int restores = 0;
};

// One directory per test (tests/unit/temp_dir.h).
struct TempDir : test::TempDir {
  TempDir() : test::TempDir("shoal-raft-host") {}
};

RaftHostOptions one_node(const std::string& dir) {
  RaftHostOptions o;
  o.raft.id = raft::NodeId(0, 1);
  o.data_dir = dir;
  o.bootstrap = raft::ConfState{{raft::NodeId(0, 1)}, {}};
  o.tick = std::chrono::milliseconds(10);
  o.rng_seed = 7;
  return o;
}

using test::propose_sync;  // tests/unit/raft_host_test_util.h

// One node that compacts every `every` entries, keeping `keep`, at most once
// per `min_interval`.
RaftHostOptions compacting(const std::string& dir, uint64_t every, uint64_t keep,
                           std::chrono::nanoseconds min_interval = std::chrono::nanoseconds(0)) {
  RaftHostOptions o = one_node(dir);
  o.compact_every = every;
  o.compact_keep = keep;
  o.compact_min_interval = min_interval;
  return o;
}

// Proposes prefix0 .. prefix(n-1), each once the previous one is applied.
void propose_numbered(RaftHost& h, const std::string& prefix, int n) {
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(propose_sync(h, prefix + std::to_string(i)).is_ok()) << prefix << i;
  }
}

// Opens and starts a one-node host and waits until it leads; nullptr (with
// a test failure) if it does not within 20 s.
std::unique_ptr<RaftHost> start_leader(RaftHostOptions o, Transport& net, StateMachine& sm) {
  struct Wait {
    std::mutex mu;
    std::condition_variable cv;
    bool leader = false;
  };
  auto w = std::make_shared<Wait>();
  o.on_role_change = [w](bool is_leader, uint64_t, const raft::NodeId&) {
    std::lock_guard lk(w->mu);
    w->leader = is_leader;
    w->cv.notify_all();
  };
  auto host = RaftHost::open(o, net, sm);
  if (!host.is_ok()) {
    ADD_FAILURE() << host.status().to_string();
    return nullptr;
  }
  (*host)->start();
  std::unique_lock lk(w->mu);
  if (!w->cv.wait_for(lk, std::chrono::seconds(20), [&] { return w->leader; })) {
    ADD_FAILURE() << "no leadership within 20 s";
    return nullptr;
  }
  return std::move(*host);
}

// Waits up to 20 s for the one answer of an asynchronous call: `start`
// receives the callback to hand to the host. nullopt if none came.
template <typename T, typename Start>
std::optional<T> await(Start start) {
  auto p = std::make_shared<std::promise<T>>();
  std::future<T> f = p->get_future();
  start([p](T v) { p->set_value(std::move(v)); });
  if (f.wait_for(std::chrono::seconds(20)) != std::future_status::ready) return std::nullopt;
  return f.get();
}

using Proposed = std::pair<Status, raft::Index>;

Proposed conf_change_sync(RaftHost& h, raft::ConfChange::Kind kind, const raft::NodeId& node) {
  auto r = await<Proposed>([&](auto done) {
    h.propose_conf_change(raft::ConfChange{kind, node}, [done](Status st, raft::Index i) {
      done(Proposed{st, i});
    });
  });
  return r.value_or(Proposed{Status::unavailable("no answer within 20 s"), raft::Index()});
}

Proposed propose_at(RaftHost& h, const std::string& cmd) {
  auto r = await<Proposed>([&](auto done) {
    h.propose(std::vector<uint8_t>(cmd.begin(), cmd.end()), [done](Status st, raft::Index i) {
      done(Proposed{st, i});
    });
  });
  return r.value_or(Proposed{Status::unavailable("no answer within 20 s"), raft::Index()});
}

std::optional<RaftStatus> status_sync(RaftHost& h) {
  return await<RaftStatus>([&](auto done) { h.status(done); });
}

Result<LogFollowBatch> read_committed_sync(RaftHost& h, uint64_t after, size_t max_bytes) {
  auto r =
      await<Result<LogFollowBatch>>([&](auto done) { h.read_committed(after, max_bytes, done); });
  if (!r) return Status::unavailable("no answer within 20 s");
  return std::move(*r);
}

// Hands every message to the addressed host's deliver(), in this process.
// A gate for the pacing tests: hold_appends(to) makes appends to `to` wait
// (in order) until release(). Every append that carries normal entries is
// recorded with their data, held or not.
struct LocalNet : Transport {
  void send(const raft::Message& m) override {
    std::lock_guard lk(mu);
    if (m.kind == raft::MessageKind::kAppend) {
      std::vector<std::string> data;
      for (const raft::Entry& e : m.entries) {
        if (e.type == raft::EntryType::kNormal) data.emplace_back(e.data.begin(), e.data.end());
      }
      if (!data.empty()) appends.push_back(std::move(data));
      if (gated && m.to == *gated) {
        held.push_back(m);
        cv.notify_all();
        return;
      }
    }
    auto it = hosts.find(m.to);
    if (it != hosts.end()) it->second->deliver(m);
  }
  void add(RaftHost& h) {
    std::lock_guard lk(mu);
    hosts[h.id()] = &h;
  }
  void clear() {
    std::lock_guard lk(mu);
    hosts.clear();
  }
  void hold_appends(const raft::NodeId& to) {
    std::lock_guard lk(mu);
    gated = to;
  }
  // Delivers what the gate held, in order, and opens it.
  void release() {
    std::lock_guard lk(mu);
    gated.reset();
    for (const raft::Message& m : held) {
      auto it = hosts.find(m.to);
      if (it != hosts.end()) it->second->deliver(m);
    }
    held.clear();
  }
  // The normal entries' data in the appends the gate holds, in order, each
  // once (a leader that hears nothing back resends what it sent).
  std::vector<std::string> held_data() {
    std::lock_guard lk(mu);
    std::vector<std::string> out;
    for (const raft::Message& m : held) {
      for (const raft::Entry& e : m.entries) {
        std::string d(e.data.begin(), e.data.end());
        if (e.type == raft::EntryType::kNormal &&
            std::find(out.begin(), out.end(), d) == out.end()) {
          out.push_back(std::move(d));
        }
      }
    }
    return out;
  }
  // Waits until the gate holds an append carrying the normal entry `data`.
  bool wait_held(const std::string& data) {
    std::unique_lock lk(mu);
    return cv.wait_for(lk, test::kHostWait, [&] {
      for (const raft::Message& m : held) {
        for (const raft::Entry& e : m.entries) {
          if (std::string(e.data.begin(), e.data.end()) == data) return true;
        }
      }
      return false;
    });
  }
  std::vector<std::vector<std::string>> recorded_appends() {
    std::lock_guard lk(mu);
    return appends;
  }
  std::mutex mu;
  std::condition_variable cv;
  std::map<raft::NodeId, RaftHost*> hosts;
  std::optional<raft::NodeId> gated;
  std::vector<raft::Message> held;
  std::vector<std::vector<std::string>> appends;
};

// Whether a host leads, from its on_role_change; lets a test wait for it.
struct RoleWatch {
  void attach(RaftHostOptions& o) {
    o.on_role_change = [this](bool is_leader, uint64_t, const raft::NodeId&) {
      std::lock_guard lk(mu);
      leader = is_leader;
      cv.notify_all();
    };
  }
  bool wait(bool want) {
    std::unique_lock lk(mu);
    return cv.wait_for(lk, std::chrono::seconds(20), [&] { return leader == want; });
  }
  std::mutex mu;
  std::condition_variable cv;
  bool leader = false;
};

// Node 1 (bootstrapped alone, so it leads) and node 2 (an empty log, outside
// the configuration until node 1 adds it), wired through a LocalNet.
struct TwoNodes {
  const raft::NodeId id_a = raft::NodeId(0, 1);
  const raft::NodeId id_b = raft::NodeId(0, 2);
  TempDir dir_a, dir_b;
  LocalNet net;
  Recorder sm_a, sm_b;
  RoleWatch watch_a, watch_b;
  std::unique_ptr<RaftHost> a, b;
  // Adjusts node 1's options before it opens.
  std::function<void(RaftHostOptions&)> tune_a;

  // Opens and starts both; true once node 1 leads.
  bool start() {
    RaftHostOptions oa = one_node(dir_a.path());
    watch_a.attach(oa);
    if (tune_a) tune_a(oa);
    auto ha = RaftHost::open(oa, net, sm_a);
    if (!ha.is_ok()) return false;
    a = std::move(*ha);
    RaftHostOptions ob = one_node(dir_b.path());
    ob.raft.id = id_b;
    ob.bootstrap.reset();
    ob.rng_seed = 8;
    watch_b.attach(ob);
    auto hb = RaftHost::open(ob, net, sm_b);
    if (!hb.is_ok()) return false;
    b = std::move(*hb);
    net.add(*a);
    net.add(*b);
    a->start();
    b->start();
    return watch_a.wait(true);
  }
  // Adds node 2 as a learner; the index of the change, or 0.
  uint64_t add_learner() {
    auto [st, idx] = conf_change_sync(*a, raft::ConfChange::Kind::kAddLearner, id_b);
    EXPECT_TRUE(st.is_ok()) << st.to_string();
    return st.is_ok() ? idx.value() : 0;
  }
  // Adds node 2 as a learner, waits until it applied the change, then
  // promotes it; the index of the promotion, or 0.
  uint64_t add_voter() {
    const uint64_t added = add_learner();
    if (added == 0 || !sm_b.wait_applied(added)) return 0;
    auto [st, idx] = conf_change_sync(*a, raft::ConfChange::Kind::kPromoteLearner, id_b);
    EXPECT_TRUE(st.is_ok()) << st.to_string();
    return st.is_ok() ? idx.value() : 0;
  }
  ~TwoNodes() {
    net.clear();  // no more deliveries into hosts being destroyed
    a.reset();
    b.reset();
  }
};

TEST(RaftHost, AppliesProposalsAndReplaysThemAfterARestart) {
  TempDir dir;
  NoNetwork net;
  {
    Recorder sm;
    auto host = start_leader(one_node(dir.path()), net, sm);
    ASSERT_NE(host, nullptr);
    ASSERT_NO_FATAL_FAILURE(propose_numbered(*host, "cmd", 20));
    ASSERT_EQ(sm.cmds.size(), 20u);
  }
  // A new host on the same directory applies the same commands again, in order.
  Recorder sm2;
  RaftHostOptions o = one_node(dir.path());
  o.bootstrap.reset();
  auto host = RaftHost::open(o, net, sm2);
  ASSERT_TRUE(host.is_ok()) << host.status().to_string();
  (*host)->start();
  ASSERT_TRUE(sm2.wait_for(20));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(sm2.cmds[i], "cmd" + std::to_string(i));
}

// Compaction: every 10 applied entries the state machine is snapshotted and
// the log trimmed; a restart restores the snapshot and replays the rest.
TEST(RaftHost, CompactsTheLogAndRestartsFromTheSnapshot) {
  TempDir dir;
  NoNetwork net;
  {
    Recorder sm;
    auto host = start_leader(compacting(dir.path(), 10, 3), net, sm);
    ASSERT_NE(host, nullptr);
    ASSERT_NO_FATAL_FAILURE(propose_numbered(*host, "c", 45));
    EXPECT_GE(host->stats().compactions.load(), 4u);
    EXPECT_GE(sm.snapshots, 4);
  }
  {
    auto store = raft::RocksLogStore::open(dir.path(), {});
    ASSERT_TRUE(store.is_ok());
    EXPECT_GT((*store)->first_index().value(), 30u) << "the log was trimmed";
    EXPECT_GE((*store)->snapshot()->meta.index.value(), 40u);
  }
  Recorder sm2;
  RaftHostOptions o = one_node(dir.path());
  o.bootstrap.reset();
  auto host = RaftHost::open(o, net, sm2);
  ASSERT_TRUE(host.is_ok()) << host.status().to_string();
  EXPECT_EQ(sm2.restores, 1);
  (*host)->start();
  ASSERT_TRUE(sm2.wait_for(45));
  for (int i = 0; i < 45; ++i) EXPECT_EQ(sm2.cmds[i], "c" + std::to_string(i));
}

// The count trigger waits compact_min_interval after a compaction (the
// first one does not wait); the size trigger does not.
TEST(RaftHost, CompactsByCountAtMostOncePerInterval) {
  TempDir dir;
  NoNetwork net;
  Recorder sm;
  RaftHostOptions o = compacting(dir.path(), 10, 3, std::chrono::hours(1));
  o.compact_bytes = 64 << 10;
  auto host = start_leader(o, net, sm);
  ASSERT_NE(host, nullptr);
  ASSERT_NO_FATAL_FAILURE(propose_numbered(*host, "c", 45));
  // A query answers at the end of a pass: after that pass's compaction.
  ASSERT_TRUE(status_sync(*host).has_value());
  EXPECT_EQ(host->stats().compactions.load(), 1u);
  const std::string big(40 << 10, 'x');
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(propose_sync(*host, big).is_ok());
  ASSERT_TRUE(status_sync(*host).has_value());
  EXPECT_EQ(host->stats().compactions.load(), 2u) << "64 KiB of entries compact at once";
}

// Compaction by size: with the count trigger off, large entries compact the
// log once their bytes pass compact_bytes (and small ones would not).
TEST(RaftHost, CompactsTheLogBySize) {
  TempDir dir;
  NoNetwork net;
  Recorder sm;
  RaftHostOptions o = one_node(dir.path());
  o.compact_every = 0;
  o.compact_bytes = 64 << 10;
  o.compact_keep = 1;
  auto host = start_leader(o, net, sm);
  ASSERT_NE(host, nullptr);
  ASSERT_NO_FATAL_FAILURE(propose_numbered(*host, "s", 20));
  EXPECT_EQ(host->stats().compactions.load(), 0u) << "20 small entries are far below 64 KiB";
  const std::string big(16 << 10, 'b');
  for (int i = 0; i < 9; ++i) ASSERT_TRUE(propose_sync(*host, big).is_ok());
  EXPECT_GE(host->stats().compactions.load(), 1u) << "9 x 16 KiB passed 64 KiB";
  EXPECT_LE(host->stats().compactions.load(), 2u);
}

// Membership: the leader adds an empty node as a learner, which catches up
// through the log; promoted, it counts as a voter, and status() shows it.
TEST(RaftHost, AddsALearnerThatCatchesUpThenPromotesIt) {
  TwoNodes c;
  ASSERT_TRUE(c.start());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(propose_sync(*c.a, "x" + std::to_string(i)).is_ok());
  const uint64_t added = c.add_learner();
  ASSERT_NE(added, 0u);
  // The learner replicates and applies everything up to its own addition.
  ASSERT_TRUE(c.sm_b.wait_applied(added));
  const std::vector<std::string> want = {"x0", "x1", "x2", "x3", "x4"};
  EXPECT_EQ(c.sm_b.commands(), want);
  {
    auto st = status_sync(*c.a);
    ASSERT_TRUE(st.has_value());
    EXPECT_EQ(st->conf.voters, std::vector<raft::NodeId>{c.id_a});
    EXPECT_EQ(st->conf.learners, std::vector<raft::NodeId>{c.id_b});
    ASSERT_EQ(st->peers.size(), 1u);
    EXPECT_TRUE(st->peers[0].learner);
  }
  // Nonsense: it is already a member.
  EXPECT_EQ(conf_change_sync(*c.a, raft::ConfChange::Kind::kAddLearner, c.id_b).first.code(),
            StatusCode::kInvalidArgument);

  auto [pst, promoted] = conf_change_sync(*c.a, raft::ConfChange::Kind::kPromoteLearner, c.id_b);
  ASSERT_TRUE(pst.is_ok()) << pst.to_string();
  EXPECT_GT(promoted.value(), added);
  // With two voters nothing commits without node 2: a proposal applied on
  // the leader has been stored there.
  auto [xst, xidx] = propose_at(*c.a, "after");
  ASSERT_TRUE(xst.is_ok()) << xst.to_string();
  auto st = status_sync(*c.a);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->role, raft::Role::kLeader);
  EXPECT_EQ(st->leader, c.id_a);
  const std::vector<raft::NodeId> voters = {c.id_a, c.id_b};
  EXPECT_EQ(st->conf.voters, voters);
  EXPECT_TRUE(st->conf.learners.empty());
  EXPECT_FALSE(st->conf_change_pending);
  EXPECT_GE(st->commit, xidx.value());
  ASSERT_EQ(st->peers.size(), 1u);
  const RaftPeerStatus& p = st->peers[0];
  EXPECT_EQ(p.id, c.id_b);
  EXPECT_FALSE(p.learner);
  EXPECT_GE(p.match, xidx.value());
  EXPECT_GT(p.next, p.match);
  EXPECT_LT(p.since_heard, std::chrono::seconds(10));
  EXPECT_GE(p.since_heard, std::chrono::nanoseconds(0));
  ASSERT_TRUE(c.sm_b.wait_applied(xidx.value()));
  EXPECT_EQ(c.sm_b.commands().back(), "after");
}

TEST(RaftHost, TransfersLeadershipToTheOtherVoter) {
  TwoNodes c;
  ASSERT_TRUE(c.start());
  ASSERT_NE(c.add_voter(), 0u);
  auto started = await<Status>([&](auto done) { c.a->transfer_leader(c.id_b, done); });
  ASSERT_TRUE(started.has_value());
  ASSERT_TRUE(started->is_ok()) << started->to_string();
  ASSERT_TRUE(c.watch_b.wait(true)) << "node 2 did not take over within 20 s";
  ASSERT_TRUE(c.watch_a.wait(false));
  auto st = status_sync(*c.b);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->role, raft::Role::kLeader);
  EXPECT_EQ(st->leader, c.id_b);
  ASSERT_EQ(st->peers.size(), 1u);
  EXPECT_EQ(st->peers[0].id, c.id_a);
  // The new leader serves proposals, which node 1 applies.
  auto [xst, xidx] = propose_at(*c.b, "from-b");
  ASSERT_TRUE(xst.is_ok()) << xst.to_string();
  ASSERT_TRUE(c.sm_a.wait_applied(xidx.value()));
  EXPECT_EQ(c.sm_a.commands().back(), "from-b");
  // A transfer to a non-voter is refused.
  auto bad = await<Status>([&](auto done) { c.b->transfer_leader(raft::NodeId(0, 9), done); });
  ASSERT_TRUE(bad.has_value());
  EXPECT_EQ(bad->code(), StatusCode::kInvalidArgument);
}

// A proposal whose completion the test collects later.
std::future<Status> propose_async(RaftHost& h, const std::string& cmd) {
  auto p = std::make_shared<std::promise<Status>>();
  std::future<Status> f = p->get_future();
  h.propose(std::vector<uint8_t>(cmd.begin(), cmd.end()),
            [p](Status st, raft::Index) { p->set_value(st); });
  return f;
}

Status wait_result(std::future<Status>& f) {
  if (f.wait_for(test::kHostWait) != std::future_status::ready) {
    return Status::unavailable("no answer within the deadline");
  }
  return f.get();
}

// Pacing: proposals that arrive while the leader's previous batch is being
// replicated wait in the host, then go out together in one append once it
// commits; the first one, finding the leader idle, goes out at once.
TEST(RaftHost, PacingSendsWhatArrivesDuringAReplicationRoundAsOneBatch) {
  TwoNodes c;
  ASSERT_TRUE(c.start());
  ASSERT_NE(c.add_voter(), 0u);  // commits now need node 2's acknowledgement
  const uint64_t held_before = c.a->stats().held_proposals.load();
  const uint64_t batches_before = c.a->stats().paced_batches.load();
  c.net.hold_appends(c.id_b);
  std::vector<std::future<Status>> done;
  done.push_back(propose_async(*c.a, "p0"));
  ASSERT_TRUE(c.net.wait_held("p0"));
  std::vector<std::string> later;
  for (int i = 1; i <= 9; ++i) {
    later.push_back("p" + std::to_string(i));
    done.push_back(propose_async(*c.a, later.back()));
  }
  // A query runs at the end of a pass that has seen every proposal above.
  ASSERT_TRUE(status_sync(*c.a).has_value());
  EXPECT_EQ(c.a->stats().held_proposals.load() - held_before, 9u);
  EXPECT_EQ(c.net.held_data(), std::vector<std::string>{"p0"}) << "p1..p9 left before p0 committed";

  c.net.release();
  for (auto& f : done) EXPECT_TRUE(wait_result(f).is_ok());
  EXPECT_EQ(c.a->stats().paced_batches.load() - batches_before, 1u);
  const auto appends = c.net.recorded_appends();
  EXPECT_TRUE(std::any_of(appends.begin(), appends.end(), [&](const std::vector<std::string>& a) {
    return std::includes(a.begin(), a.end(), later.begin(), later.end());
  })) << "p1..p9 did not go out in one append";
  ASSERT_TRUE(c.sm_b.wait_for(c.sm_a.commands().size()));
  EXPECT_EQ(c.sm_b.commands(), c.sm_a.commands());
}

// A leader answers a proposal once it commits, not after the fsync of the
// batch that follows it: committed entries are applied before the Ready's
// write. Node 1's WAL fsync is held while it writes p1 (released with p0's
// commit); p0's answer must come while that fsync is still held.
// Holds the next WAL sync of a FaultFs once armed, until opened.
struct SyncLatch {
  explicit SyncLatch(raft::FaultFs& fs) {
    fs.set_sync_hook([this](const std::string& path) {
      if (!path.ends_with(".log")) return;
      std::unique_lock lk(mu);
      if (!armed) return;
      armed = false;
      entered = true;
      cv.notify_all();
      cv.wait_for(lk, test::kHostWait, [&] { return open; });
    });
  }
  void arm() {
    std::lock_guard lk(mu);
    armed = true;
  }
  bool wait_entered() {
    std::unique_lock lk(mu);
    return cv.wait_for(lk, test::kHostWait, [&] { return entered; });
  }
  void release() {
    std::lock_guard lk(mu);
    open = true;
    cv.notify_all();
  }
  std::mutex mu;
  std::condition_variable cv;
  bool armed = false, entered = false, open = false;
};

// The other side of applying early: an entry that the Ready itself writes
// is never applied (nor answered) before that write is synced, even where
// it counts as committed at once (one node: the leader's own copy is the
// quorum).
TEST(RaftHost, AOneNodeLeaderAnswersOnlyAfterItsOwnFsync) {
  TempDir dir;
  NoNetwork net;
  Recorder sm;
  auto fs = std::make_shared<raft::FaultFs>();
  SyncLatch latch(*fs);
  RaftHostOptions o = one_node(dir.path());
  o.store.env = raft::FaultFs::make_env(fs);
  auto host = start_leader(o, net, sm);
  ASSERT_NE(host, nullptr);
  ASSERT_TRUE(status_sync(*host).has_value());  // the leader's first entry is settled
  latch.arm();
  auto p = propose_async(*host, "x");
  ASSERT_TRUE(latch.wait_entered());
  const bool early = p.wait_for(std::chrono::milliseconds(300)) == std::future_status::ready;
  latch.release();
  EXPECT_FALSE(early) << "answered before its entry was synced";
  EXPECT_TRUE(wait_result(p).is_ok());
  EXPECT_EQ(sm.commands(), std::vector<std::string>{"x"});
}

TEST(RaftHost, ALeaderAnswersBeforeTheNextBatchIsSynced) {
  auto fs = std::make_shared<raft::FaultFs>();
  SyncLatch latch(*fs);
  TwoNodes c;
  c.tune_a = [&](RaftHostOptions& o) { o.store.env = raft::FaultFs::make_env(fs); };
  ASSERT_TRUE(c.start());
  ASSERT_NE(c.add_voter(), 0u);
  c.net.hold_appends(c.id_b);
  auto p0 = propose_async(*c.a, "p0");
  ASSERT_TRUE(c.net.wait_held("p0"));
  auto p1 = propose_async(*c.a, "p1");  // held by pacing until p0 commits
  ASSERT_TRUE(status_sync(*c.a).has_value());
  latch.arm();  // the next WAL sync on node 1 is p1's
  c.net.release();
  ASSERT_TRUE(latch.wait_entered());
  const bool answered = p0.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  latch.release();
  EXPECT_TRUE(answered) << "p0 waited for the fsync of p1's batch";
  EXPECT_TRUE(wait_result(p0).is_ok());
  EXPECT_TRUE(wait_result(p1).is_ok());
}

// Pacing holds at most max_held_proposals: beyond that they go out without
// waiting for the commit.
TEST(RaftHost, PacingReleasesHeldProposalsAtTheCap) {
  TwoNodes c;
  c.tune_a = [](RaftHostOptions& o) { o.max_held_proposals = 3; };
  ASSERT_TRUE(c.start());
  ASSERT_NE(c.add_voter(), 0u);
  c.net.hold_appends(c.id_b);
  std::vector<std::future<Status>> done;
  done.push_back(propose_async(*c.a, "p0"));
  ASSERT_TRUE(c.net.wait_held("p0"));
  // Two wait (a pass each, the query marking its end)...
  for (int i = 1; i <= 2; ++i) {
    done.push_back(propose_async(*c.a, "p" + std::to_string(i)));
    ASSERT_TRUE(status_sync(*c.a).has_value());
  }
  EXPECT_EQ(c.net.held_data(), std::vector<std::string>{"p0"});
  // ...the third reaches the cap: all three leave although p0 is in flight.
  done.push_back(propose_async(*c.a, "p3"));
  ASSERT_TRUE(c.net.wait_held("p3")) << "three held proposals stayed held";
  EXPECT_EQ(c.net.held_data(), (std::vector<std::string>{"p0", "p1", "p2", "p3"}));
  c.net.release();
  for (auto& f : done) EXPECT_TRUE(wait_result(f).is_ok());
}

// When the host stops, held proposals (never fed to the core) are answered
// kUnavailable: they will never commit. The one in flight is in the log and
// may still commit elsewhere: kOutcomeUnknown.
TEST(RaftHost, PacingAnswersHeldProposalsOnStop) {
  TwoNodes c;
  ASSERT_TRUE(c.start());
  ASSERT_NE(c.add_voter(), 0u);
  c.net.hold_appends(c.id_b);
  auto first = propose_async(*c.a, "p0");
  ASSERT_TRUE(c.net.wait_held("p0"));
  auto second = propose_async(*c.a, "p1");
  ASSERT_TRUE(status_sync(*c.a).has_value());
  ASSERT_EQ(c.a->stats().held_proposals.load(), 1u);
  c.a->stop();
  EXPECT_EQ(wait_result(second).code(), StatusCode::kUnavailable);
  EXPECT_EQ(wait_result(first).code(), StatusCode::kOutcomeUnknown);
}

TEST(RaftHost, AFollowerRefusesMembershipChangesAndTransfers) {
  TwoNodes c;
  ASSERT_TRUE(c.start());
  const uint64_t added = c.add_learner();
  ASSERT_NE(added, 0u);
  ASSERT_TRUE(c.sm_b.wait_applied(added));
  auto [st, idx] = conf_change_sync(*c.b, raft::ConfChange::Kind::kAddLearner, raft::NodeId(0, 3));
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.to_string();
  auto tr = await<Status>([&](auto done) { c.b->transfer_leader(c.id_a, done); });
  ASSERT_TRUE(tr.has_value());
  EXPECT_EQ(tr->code(), StatusCode::kUnavailable);
  auto bs = status_sync(*c.b);
  ASSERT_TRUE(bs.has_value());
  EXPECT_EQ(bs->role, raft::Role::kFollower);
  EXPECT_EQ(bs->leader, c.id_a);
  EXPECT_TRUE(bs->peers.empty());
  EXPECT_GE(bs->applied, added);
  EXPECT_EQ(bs->conf.learners, std::vector<raft::NodeId>{c.id_b});
}

// read_committed(): the committed entries after an index, cut at max_bytes
// (but never empty while there is one).
TEST(RaftHost, ReadCommittedServesEntriesAfterAnIndex) {
  TempDir dir;
  NoNetwork net;
  Recorder sm;
  RaftHostOptions o = one_node(dir.path());
  o.compact_every = 0;
  auto host = start_leader(o, net, sm);
  ASSERT_NE(host, nullptr);
  uint64_t first = 0, last = 0;
  for (int i = 0; i < 10; ++i) {
    auto [st, idx] = propose_at(*host, "cmd-" + std::to_string(10 + i));  // 6 bytes each
    ASSERT_TRUE(st.is_ok()) << st.to_string();
    if (first == 0) first = idx.value();
    last = idx.value();
  }
  auto b = read_committed_sync(*host, first - 1, 13);
  ASSERT_TRUE(b.is_ok()) << b.status().to_string();
  EXPECT_FALSE(b->snapshot.has_value());
  EXPECT_EQ(b->commit, last);
  ASSERT_EQ(b->entries.size(), 2u);
  EXPECT_EQ(b->entries[0].index.value(), first);
  EXPECT_EQ(std::string(b->entries[0].data.begin(), b->entries[0].data.end()), "cmd-10");
  EXPECT_EQ(std::string(b->entries[1].data.begin(), b->entries[1].data.end()), "cmd-11");

  b = read_committed_sync(*host, first + 3, 1);  // smaller than one entry: still one
  ASSERT_TRUE(b.is_ok());
  ASSERT_EQ(b->entries.size(), 1u);
  EXPECT_EQ(b->entries[0].index.value(), first + 4);

  b = read_committed_sync(*host, 0, 1 << 20);  // everything, from the bootstrap entry
  ASSERT_TRUE(b.is_ok());
  ASSERT_EQ(b->entries.size(), last);
  for (size_t i = 0; i < b->entries.size(); ++i) EXPECT_EQ(b->entries[i].index.value(), i + 1);
  EXPECT_EQ(b->entries[0].type, raft::EntryType::kConfChange);

  b = read_committed_sync(*host, last, 1 << 20);  // nothing newer
  ASSERT_TRUE(b.is_ok());
  EXPECT_TRUE(b->entries.empty());
  EXPECT_EQ(b->commit, last);
}

// After compaction a follower too far behind gets the stored snapshot, then
// the entries after it; together they rebuild the state.
TEST(RaftHost, ReadCommittedServesTheSnapshotAfterCompaction) {
  TempDir dir;
  NoNetwork net;
  Recorder sm;
  auto host = start_leader(compacting(dir.path(), 10, 3), net, sm);
  ASSERT_NE(host, nullptr);
  uint64_t last = 0;
  for (int i = 0; i < 30; ++i) {
    auto [st, idx] = propose_at(*host, "c" + std::to_string(i));
    ASSERT_TRUE(st.is_ok()) << st.to_string();
    last = idx.value();
  }
  ASSERT_GE(host->stats().compactions.load(), 2u);
  auto b = read_committed_sync(*host, 1, 1 << 20);
  ASSERT_TRUE(b.is_ok()) << b.status().to_string();
  ASSERT_TRUE(b->snapshot.has_value()) << "index 2 is compacted";
  const uint64_t snap_index = b->snapshot->meta.index.value();
  EXPECT_GE(snap_index, 20u);
  EXPECT_EQ(b->commit, last);
  ASSERT_FALSE(b->entries.empty());
  EXPECT_EQ(b->entries.front().index.value(), snap_index + 1);
  EXPECT_EQ(b->entries.back().index.value(), last);
  Recorder rebuilt;
  rebuilt.restore(*b->snapshot);
  for (const raft::Entry& e : b->entries) rebuilt.apply(e);
  ASSERT_EQ(rebuilt.cmds.size(), 30u);
  for (int i = 0; i < 30; ++i) EXPECT_EQ(rebuilt.cmds[i], "c" + std::to_string(i));

  // An observer within the kept log gets entries only.
  b = read_committed_sync(*host, last - 2, 1 << 20);
  ASSERT_TRUE(b.is_ok());
  EXPECT_FALSE(b->snapshot.has_value());
  ASSERT_EQ(b->entries.size(), 2u);
  EXPECT_EQ(b->entries.front().index.value(), last - 1);
}

TEST(RaftHostDeathTest, AFailedFsyncStopsTheProcess) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  TempDir dir;
  // spdlog logs the reason on stdout; the test checks the abort itself.
  EXPECT_EXIT(
      {
        NoNetwork net;
        Recorder sm;
        auto fs = std::make_shared<raft::FaultFs>();
        RaftHostOptions o = one_node(dir.path());
        o.store.env = raft::FaultFs::make_env(fs);
        auto host = start_leader(o, net, sm);
        if (host == nullptr) std::exit(3);
        fs->set_fail_syncs(true);
        // The host must abort in the synced save of this proposal, before
        // anything is acknowledged; returning from here is the failure.
        (void)propose_sync(*host, "lost");
        std::exit(0);
      },
      ::testing::KilledBySignal(SIGABRT), "");
}

}  // namespace
}  // namespace shoal::node
