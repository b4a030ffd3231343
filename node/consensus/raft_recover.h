// Offline recovery from a permanent loss of quorum (`shoal raft recover`, as
// etcd's --force-new-cluster or HashiCorp raft's RecoverCluster): the
// operator stops every surviving agent and runs recover_raft() on each
// survivor's Raft directory with the same list of survivors. The list becomes
// the Raft configuration, so the survivors can elect a leader among
// themselves again. docs/operations.md has the operator's procedure.
//
// What is written. One synced RocksDB write: a kConfChange entry whose data
// is the new ConfState (voters = the list, no learners; a configuration
// entry carries the whole configuration, codec.h) at last_index + 1, and a
// hard state with the new term, no vote, and the commit index unchanged.
// The core rebuilds its configuration on restart from the latest
// configuration entry in the log (raft.cc), and a configuration takes effect
// as soon as it is in the log, committed or not, so the forced entry is in
// force from the first tick.
//
// The term. The entry gets term R = last_term + kRecoveryTermStep, where
// last_term is the term of this node's last log entry:
//   - R is far above any term a real leader used (terms grow by one per
//     election), so the fabricated entry can never share (index, term) with
//     a real entry on another survivor; sharing one would make the Log
//     Matching check accept a log whose prefix differs (silent divergence).
//     A bump of one is not enough: another survivor may hold real entries
//     of last_term + 1 at that very index.
//   - R is a strictly increasing function of last_term and the entry lands
//     at last_index + 1, so survivors compare in elections (§5.4.1: last
//     term, then last index) exactly as their original logs did: the one
//     with the most up-to-date log wins, as Raft would have chosen. Two
//     survivors with equal (last_index, last_term) hold identical logs (Log
//     Matching) and therefore write identical entries.
//   - R is above the stored term (checked), so terms never go backwards and
//     no earlier vote can be repeated.
//
// The commit. The forced entry is NOT marked committed, and the commit index
// is not raised. Survivors may hold logs of different lengths (or
// uncommitted suffixes that disagree): each writes its entry at its own
// index, and if those entries were committed, the elected leader's log would
// conflict with a committed entry on the others and the core would stop
// (raft_log.cc: "conflict at a committed index"). Left uncommitted, the
// losers' suffixes (their own forced entries included) are replaced by the
// leader's, which carries the same configuration, and the leader's first
// entry of its term commits its whole log. Committed entries are never
// rewritten. With a single survivor the result is the same: it elects
// itself at once and commits.
//
// What it risks: entries that only the lost nodes had (even if they had
// committed them) are gone; an uncommitted suffix on a losing survivor is
// discarded. A survivor that knew as committed an entry the winner lacks
// (possible only if the lost nodes formed the majority that committed it)
// stops at the conflict; wipe its data and let it rejoin.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "raft/types.h"

namespace shoal::node {

inline constexpr std::string_view kRaftDirName = "raft";  // <data-dir>/raft holds the RocksDB log

// How far a recovery moves the term above the last log entry's (see above).
inline constexpr uint64_t kRecoveryTermStep = uint64_t{1} << 32;

struct RecoverResult {
  uint64_t term = 0;         // the term recorded (of the forced entry and the hard state)
  uint64_t last_index = 0;   // index of the forced configuration entry
  raft::ConfState old_conf;  // the configuration before
  raft::ConfState new_conf;  // voters = the given peers (sorted), no learners
};

// Offline: opens the RocksDB log in raft_dir (it must exist and hold Raft
// state; the agent must be stopped: RocksDB's lock makes a running agent an
// error) and, in one synced write, appends the configuration entry naming
// exactly `voters` at last_index + 1 with term last_term + kRecoveryTermStep
// and records that term (no vote, commit unchanged). On restart the node uses
// this configuration and the survivors elect a leader among themselves,
// which commits it. Every survivor must be given the same list.
// Errors: kNotFound (no Raft state in raft_dir), kInvalidArgument (empty
// list, duplicate or zero ids), kConflict (the stored term is
// kRecoveryTermStep or more above the last entry's: never in practice),
// others from the store (kIoError when the agent still runs).
[[nodiscard]] Result<RecoverResult> recover_raft(const std::filesystem::path& raft_dir,
                                                 const std::vector<raft::NodeId>& voters);

}  // namespace shoal::node
