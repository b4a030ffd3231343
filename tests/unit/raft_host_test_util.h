// Helpers shared by the RaftHost tests (node_raft_host_test.cc,
// node_raft_rpc_test.cc, node_raft_recover_test.cc): a state machine that
// records applied commands and lets a test wait for them, and a proposal
// that waits for its completion. Waits are bounded (kHostWait); no sleeps.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "node/consensus/raft_host.h"

namespace shoal::test {

inline constexpr std::chrono::seconds kHostWait{20};

// Records the normal entries applied, as strings; wait_for(n) waits until
// there are at least n.
struct CommandRecorder : node::StateMachine {
  void apply(const raft::Entry& e) override {
    std::lock_guard lk(mu);
    if (e.type == raft::EntryType::kNormal) cmds.emplace_back(e.data.begin(), e.data.end());
    cv.notify_all();
  }
  bool wait_for(size_t n) {
    std::unique_lock lk(mu);
    return cv.wait_for(lk, kHostWait, [&] { return cmds.size() >= n; });
  }
  std::vector<std::string> commands() {
    std::lock_guard lk(mu);
    return cmds;
  }
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> cmds;
};

// Proposes `cmd` and waits for the completion; kUnavailable if none comes.
inline Status propose_sync(node::RaftHost& h, const std::string& cmd) {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Status> result;
  h.propose(std::vector<uint8_t>(cmd.begin(), cmd.end()), [&](Status st, raft::Index) {
    std::lock_guard lk(mu);
    result = st;
    cv.notify_all();
  });
  std::unique_lock lk(mu);
  cv.wait_for(lk, kHostWait, [&] { return result.has_value(); });
  return result.value_or(Status::unavailable("no answer within the deadline"));
}

}  // namespace shoal::test
