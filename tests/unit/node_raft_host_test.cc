// RaftHost (node/raft_host.h) on one node with a real RocksDB log: proposals
// are applied and survive a restart (the log is replayed into a fresh state
// machine), and a failing fsync stops the process (fail-stop) instead of
// acknowledging what the disk may have lost.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <condition_variable>
#include <csignal>
#include <filesystem>
#include <mutex>
#include <string>

#include "node/raft_host.h"
#include "raft/fault_fs.h"
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
    cv.notify_all();
  }
  bool wait_for(size_t n) {
    std::unique_lock lk(mu);
    return cv.wait_for(lk, std::chrono::seconds(20), [&] { return cmds.size() >= n; });
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

// Proposes and waits for the callback.
Status propose_sync(RaftHost& h, const std::string& cmd) {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Status> result;
  h.propose(std::vector<uint8_t>(cmd.begin(), cmd.end()), [&](Status st, raft::Index) {
    std::lock_guard lk(mu);
    result = st;
    cv.notify_all();
  });
  std::unique_lock lk(mu);
  cv.wait_for(lk, std::chrono::seconds(20), [&] { return result.has_value(); });
  return result.value_or(Status::unavailable("no answer within 20 s"));
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

TEST(RaftHost, AppliesProposalsAndReplaysThemAfterARestart) {
  TempDir dir;
  NoNetwork net;
  {
    Recorder sm;
    auto host = start_leader(one_node(dir.path()), net, sm);
    ASSERT_NE(host, nullptr);
    for (int i = 0; i < 20; ++i) {
      ASSERT_TRUE(propose_sync(*host, "cmd" + std::to_string(i)).is_ok());
    }
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
    RaftHostOptions o = one_node(dir.path());
    o.compact_every = 10;
    o.compact_keep = 3;
    auto host = start_leader(o, net, sm);
    ASSERT_NE(host, nullptr);
    for (int i = 0; i < 45; ++i) {
      ASSERT_TRUE(propose_sync(*host, "c" + std::to_string(i)).is_ok());
    }
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
