// recover_raft() (node/consensus/raft_recover.h): three RaftHosts with RocksDB logs on
// an in-memory network commit entries, all stop, and the survivors' logs get
// a forced configuration. One survivor alone then leads, keeps every
// committed entry and commits new ones; two survivors whose logs differ in
// length elect a leader, converge on its log and commit. Plus the forced
// entry as the core sees it on restart, and the errors.
//
// Threads: every host runs its own loop thread. Waits are on condition
// variables (role changes, applied commands) with deadlines; no sleeps.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/rng.h"
#include "node/consensus/raft_host.h"
#include "node/consensus/raft_recover.h"
#include "raft/codec.h"
#include "raft/raft.h"
#include "raft/rocksdb_log_store.h"
#include "tests/unit/raft_host_test_util.h"
#include "tests/unit/temp_dir.h"

namespace shoal::node {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr auto kWait = 20s;
constexpr int kNodes = 3;

raft::NodeId node_id(int i) { return raft::NodeId(0, 0x51 + static_cast<uint64_t>(i)); }

struct TempDir : test::TempDir {
  TempDir() : test::TempDir("shoal-raft-recover") {}
};

using Recorder = test::CommandRecorder;  // tests/unit/raft_host_test_util.h

// The in-memory network: hands each message to the addressed host. A node
// can be cut off (its messages both ways are dropped).
class Network : public Transport {
 public:
  void send(const raft::Message& m) override {
    std::lock_guard lk(mu_);
    if (cut_.count(m.from) != 0 || cut_.count(m.to) != 0) return;
    auto it = hosts_.find(m.to);
    if (it != hosts_.end()) it->second->deliver(m);
  }
  void attach(RaftHost* h) {
    std::lock_guard lk(mu_);
    hosts_[h->id()] = h;
  }
  // After this returns, nothing is delivered to `id` any more.
  void detach(const raft::NodeId& id) {
    std::lock_guard lk(mu_);
    hosts_.erase(id);
  }
  void cut(const raft::NodeId& id) {
    std::lock_guard lk(mu_);
    cut_.insert(id);
  }
  void heal(const raft::NodeId& id) {
    std::lock_guard lk(mu_);
    cut_.erase(id);
  }

 private:
  std::mutex mu_;
  std::map<raft::NodeId, RaftHost*> hosts_;
  std::set<raft::NodeId> cut_;
};

// Role changes of every host, for waiting on a leader.
struct Roles {
  std::mutex mu;
  std::condition_variable cv;
  void changed() {
    std::lock_guard lk(mu);
    cv.notify_all();
  }
};

// A three-node cluster whose nodes can be stopped and reopened on their
// directories (<dir>/n<i>/raft, as <data-dir>/raft in an agent).
class Cluster {
 public:
  Cluster() {
    for (int i = 0; i < kNodes; ++i) sms_[i] = std::make_unique<Recorder>();
  }
  ~Cluster() {
    for (int i = 0; i < kNodes; ++i) stop(i);
  }

  fs::path raft_dir(int i) const {
    return fs::path(dir_.path()) / ("n" + std::to_string(i)) / kRaftDirName;
  }
  Recorder& sm(int i) { return *sms_[i]; }
  Network& net() { return net_; }
  RaftHost* host(int i) { return hosts_[i].get(); }

  // Opens node i (bootstrapping the three-node configuration when `fresh`)
  // with a fresh state machine, and starts it.
  void open(int i, bool fresh) {
    RaftHostOptions o;
    o.raft.id = node_id(i);
    o.data_dir = raft_dir(i).string();
    fs::create_directories(raft_dir(i));
    if (fresh) o.bootstrap = raft::ConfState{{node_id(0), node_id(1), node_id(2)}, {}};
    o.tick = 10ms;
    o.rng_seed = 11 + static_cast<uint64_t>(i);
    o.on_role_change = [this](bool, uint64_t, const raft::NodeId&) { roles_.changed(); };
    sms_[i] = std::make_unique<Recorder>();
    auto h = RaftHost::open(o, net_, *sms_[i]);
    ASSERT_TRUE(h.is_ok()) << h.status().to_string();
    hosts_[i] = std::move(*h);
    net_.attach(hosts_[i].get());
    hosts_[i]->start();
  }
  void stop(int i) {
    if (!hosts_[i]) return;
    net_.detach(node_id(i));
    hosts_[i]->stop();
    hosts_[i].reset();
  }

  // Waits until one of `among` leads (the one with the highest term if two
  // briefly do); -1 when none does within kWait.
  int wait_leader(const std::vector<int>& among) {
    int found = -1;
    std::unique_lock lk(roles_.mu);
    roles_.cv.wait_for(lk, kWait, [&] {
      uint64_t best = 0;
      found = -1;
      for (int i : among) {
        if (hosts_[i] && hosts_[i]->is_leader() && hosts_[i]->term() >= best) {
          best = hosts_[i]->term();
          found = i;
        }
      }
      return found >= 0;
    });
    return found;
  }

  // Commits `cmd` through a leader among `among` (retrying if leadership
  // moves); the Status of the last attempt.
  Status commit(const std::vector<int>& among, const std::string& cmd) {
    Status last = Status::unavailable("no leader");
    for (int attempt = 0; attempt < 5; ++attempt) {
      const int l = wait_leader(among);
      if (l < 0) return Status::unavailable("no leader within the deadline");
      last = test::propose_sync(*hosts_[l], cmd);
      if (last.is_ok()) return last;
    }
    return last;
  }

 private:
  TempDir dir_;
  Network net_;
  Roles roles_;
  std::unique_ptr<Recorder> sms_[kNodes];
  std::unique_ptr<RaftHost> hosts_[kNodes];
};

std::vector<std::string> numbered(const std::string& prefix, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

// Three nodes commit c0..c4 and everyone applies them.
void commit_on_all(Cluster& c) {
  for (int i = 0; i < kNodes; ++i) c.open(i, /*fresh=*/true);
  for (const std::string& cmd : numbered("c", 5)) {
    ASSERT_TRUE(c.commit({0, 1, 2}, cmd).is_ok()) << cmd;
  }
  for (int i = 0; i < kNodes; ++i) ASSERT_TRUE(c.sm(i).wait_for(5)) << "node " << i;
}

TEST(RaftRecover, OneSurvivorLeadsAloneAndKeepsTheCommittedEntries) {
  Cluster c;
  ASSERT_NO_FATAL_FAILURE(commit_on_all(c));
  for (int i = 0; i < kNodes; ++i) c.stop(i);

  auto r = recover_raft(c.raft_dir(1), {node_id(1)});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->old_conf.voters, (std::vector<raft::NodeId>{node_id(0), node_id(1), node_id(2)}));
  EXPECT_EQ(r->new_conf, (raft::ConfState{{node_id(1)}, {}}));
  EXPECT_GE(r->last_index, 6u) << "after the bootstrap entry, a no-op and five commands";

  ASSERT_NO_FATAL_FAILURE(c.open(1, /*fresh=*/false));
  ASSERT_EQ(c.wait_leader({1}), 1) << "the lone survivor did not become leader";
  EXPECT_GT(c.host(1)->term(), r->term);
  ASSERT_TRUE(c.sm(1).wait_for(5));
  EXPECT_EQ(c.sm(1).commands(), numbered("c", 5));
  ASSERT_TRUE(c.commit({1}, "after").is_ok());
  auto want = numbered("c", 5);
  want.push_back("after");
  EXPECT_EQ(c.sm(1).commands(), want);
}

TEST(RaftRecover, TwoSurvivorsWithLogsOfDifferentLengthsElectAndCommit) {
  Cluster c;
  ASSERT_NO_FATAL_FAILURE(commit_on_all(c));
  // Node 2 falls behind: c5..c9 are committed by nodes 0 and 1 only.
  c.net().cut(node_id(2));
  for (const std::string& cmd : std::vector<std::string>{"c5", "c6", "c7", "c8", "c9"}) {
    ASSERT_TRUE(c.commit({0, 1}, cmd).is_ok()) << cmd;
  }
  ASSERT_TRUE(c.sm(0).wait_for(10));
  for (int i = 0; i < kNodes; ++i) c.stop(i);
  EXPECT_EQ(c.sm(2).commands().size(), 5u) << "node 2 was cut off";

  // Node 1 is lost; nodes 0 (long log) and 2 (short log) survive.
  const std::vector<raft::NodeId> survivors{node_id(2), node_id(0)};
  auto r0 = recover_raft(c.raft_dir(0), survivors);
  ASSERT_TRUE(r0.is_ok()) << r0.status().to_string();
  auto r2 = recover_raft(c.raft_dir(2), survivors);
  ASSERT_TRUE(r2.is_ok()) << r2.status().to_string();
  EXPECT_GT(r0->last_index, r2->last_index) << "the test needs logs of different lengths";
  EXPECT_EQ(r0->new_conf, r2->new_conf);
  EXPECT_EQ(r0->new_conf.voters, (std::vector<raft::NodeId>{node_id(0), node_id(2)}));

  c.net().heal(node_id(2));

  ASSERT_NO_FATAL_FAILURE(c.open(0, /*fresh=*/false));
  ASSERT_NO_FATAL_FAILURE(c.open(2, /*fresh=*/false));
  const int leader = c.wait_leader({0, 2});
  ASSERT_EQ(leader, 0) << "the survivor with the most up-to-date log must win";
  ASSERT_TRUE(c.commit({0, 2}, "after").is_ok());
  auto want = numbered("c", 10);
  want.push_back("after");
  for (int i : {0, 2}) {
    ASSERT_TRUE(c.sm(i).wait_for(want.size())) << "node " << i;
    EXPECT_EQ(c.sm(i).commands(), want) << "node " << i;
  }
}

// What restart sees: the forced entry last in the log, in force in the core.
TEST(RaftRecover, TheCoreRestartsWithTheForcedConfiguration) {
  Cluster c;
  ASSERT_NO_FATAL_FAILURE(commit_on_all(c));
  for (int i = 0; i < kNodes; ++i) c.stop(i);
  raft::HardState before;
  {
    auto store = raft::RocksLogStore::open(c.raft_dir(0).string(), {});
    ASSERT_TRUE(store.is_ok());
    before = (*store)->hard_state();
  }
  auto r = recover_raft(c.raft_dir(0), {node_id(0), node_id(2)});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_GT(r->term, before.term.value());

  auto store = raft::RocksLogStore::open(c.raft_dir(0).string(), {});
  ASSERT_TRUE(store.is_ok());
  raft::RocksLogStore& s = **store;
  EXPECT_EQ(s.last_index().value(), r->last_index);
  auto ents = s.entries(s.last_index(), s.last_index() + 1, 1 << 20);
  ASSERT_TRUE(ents.is_ok() && ents->size() == 1);
  EXPECT_EQ((*ents)[0].type, raft::EntryType::kConfChange);
  EXPECT_EQ((*ents)[0].term.value(), r->term);
  auto cs = raft::codec::decode_conf_state((*ents)[0].data);
  ASSERT_TRUE(cs.is_ok());
  EXPECT_EQ(*cs, r->new_conf);
  EXPECT_EQ(s.hard_state().term.value(), r->term);
  EXPECT_TRUE(s.hard_state().vote.is_zero());
  EXPECT_EQ(s.hard_state().commit, before.commit) << "the forced entry is not committed";

  Rng rng(1);
  raft::Config cfg;
  cfg.id = node_id(0);
  raft::Raft core(cfg, s, rng);
  EXPECT_EQ(core.conf(), r->new_conf);
  EXPECT_EQ(core.term().value(), r->term);
}

TEST(RaftRecover, Errors) {
  TempDir empty;
  auto r = recover_raft(empty.path(), {node_id(0)});
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound) << r.status().to_string();
  r = recover_raft(fs::path(empty.path()) / "missing", {node_id(0)});
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound) << r.status().to_string();
  EXPECT_FALSE(fs::exists(fs::path(empty.path()) / "missing")) << "nothing is created";

  // A RocksDB database with no Raft state in it.
  {
    auto store = raft::RocksLogStore::open(empty.path(), {});
    ASSERT_TRUE(store.is_ok());
  }
  r = recover_raft(empty.path(), {node_id(0)});
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound) << r.status().to_string();

  Cluster c;
  ASSERT_NO_FATAL_FAILURE(c.open(0, /*fresh=*/true));
  // The agent still runs: RocksDB's lock refuses a second opener.
  r = recover_raft(c.raft_dir(0), {node_id(0)});
  EXPECT_FALSE(r.is_ok());
  c.stop(0);

  r = recover_raft(c.raft_dir(0), {});
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().to_string();
  r = recover_raft(c.raft_dir(0), {node_id(0), node_id(1), node_id(0)});
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().to_string();
  r = recover_raft(c.raft_dir(0), {node_id(0), raft::NodeId()});
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().to_string();
  // Refused requests wrote nothing.
  {
    auto store = raft::RocksLogStore::open(c.raft_dir(0).string(), {});
    ASSERT_TRUE(store.is_ok());
    EXPECT_EQ((*store)->last_index().value(), 1u) << "only the bootstrap entry";
  }
}

}  // namespace
}  // namespace shoal::node
