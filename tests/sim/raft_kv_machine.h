// KvMachine: the replicated state machine of the Raft simulation
// (raft_harness.h), a node::StateMachine that a production RaftHost
// applies to: a map of string keys to string values, changed by put and
// delete commands in the log, with snapshot() / restore() so that the
// host's log compaction and snapshot installs run too.
//
// Every applied entry and every restored snapshot is first reported through
// the hooks (the harness's ledger); the machine itself is volatile (a crash
// destroys it, the host rebuilds it from the stored snapshot and the log).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "node/consensus/raft_host.h"
#include "raft/types.h"

namespace shoal::sim::raft_sim {

class KvMachine final : public node::StateMachine {
 public:
  struct Hooks {
    std::function<void(const raft::Entry&)> on_apply;
    std::function<void(const raft::Snapshot&)> on_restore;
  };
  explicit KvMachine(Hooks hooks) : hooks_(std::move(hooks)) {}

  // The log commands: [op][key length][key][value].
  static std::vector<uint8_t> put_command(const std::string& key, const std::string& value);
  static std::vector<uint8_t> delete_command(const std::string& key);

  void apply(const raft::Entry& e) override;
  std::vector<uint8_t> snapshot() override;
  void restore(const raft::Snapshot& snap) override;

  std::optional<std::string> get(const std::string& key) const;
  const std::map<std::string, std::string>& kv() const { return kv_; }
  // The last entry applied (or the restored snapshot's index).
  raft::Index applied() const { return applied_; }

 private:
  Hooks hooks_;
  std::map<std::string, std::string> kv_;
  raft::Index applied_;
};

}  // namespace shoal::sim::raft_sim
