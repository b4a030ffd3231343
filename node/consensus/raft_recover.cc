// recover_raft(): see raft_recover.h for what is written and why.
#include "node/consensus/raft_recover.h"

#include <algorithm>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <utility>

#include "raft/codec.h"
#include "raft/rocksdb_log_store.h"

namespace shoal::node {

namespace {

using raft::ConfState;
using raft::Entry;
using raft::Index;
using raft::Term;

// The configuration in force at the end of the log: the latest configuration
// entry, else the snapshot's (as the core rebuilds it on restart).
Result<ConfState> current_conf(const raft::RocksLogStore& store) {
  ConfState conf;
  auto snap = store.snapshot();
  if (!snap) return snap.status();
  if (!snap->empty()) conf = snap->meta.conf;
  for (Index lo = store.first_index(); lo <= store.last_index();) {
    auto ents = store.entries(lo, store.last_index() + 1, 4u << 20);
    if (!ents) return ents.status();
    if (ents->empty()) return Status::decode("raft recover: the stored log is unreadable");
    for (const Entry& e : *ents) {
      if (e.type != raft::EntryType::kConfChange) continue;
      auto cs = raft::codec::decode_conf_state(e.data);
      if (!cs) {
        return Status::decode("raft recover: configuration entry " + raft::to_string(e.index) +
                              " does not decode: " + cs.status().to_string());
      }
      conf = std::move(*cs);
    }
    lo = ents->back().index + 1;
  }
  return conf;
}

}  // namespace

Result<RecoverResult> recover_raft(const std::filesystem::path& raft_dir,
                                   const std::vector<raft::NodeId>& voters) {
  // The list first: nothing is opened for a request that cannot succeed.
  if (voters.empty()) return Status::invalid_argument("raft recover: the list of peers is empty");
  ConfState next;
  next.voters = voters;
  std::sort(next.voters.begin(), next.voters.end());
  for (const raft::NodeId& id : next.voters) {
    if (id.is_zero()) return Status::invalid_argument("raft recover: a peer id is zero");
  }
  if (auto dup = std::adjacent_find(next.voters.begin(), next.voters.end());
      dup != next.voters.end()) {
    return Status::invalid_argument("raft recover: peer " + dup->to_string() + " is listed twice");
  }

  // Never create a database: a missing one means a wrong --data-dir.
  std::error_code ec;
  if (!std::filesystem::is_directory(raft_dir, ec) ||
      !std::filesystem::exists(raft_dir / "CURRENT", ec)) {
    return Status::not_found("raft recover: no Raft log in " + raft_dir.string());
  }
  raft::RocksLogStoreOptions opts;
  opts.create_if_missing = false;
  auto opened = raft::RocksLogStore::open(raft_dir.string(), opts);
  if (!opened) {
    const Status& st = opened.status();
    if (st.code() == StatusCode::kIoError) {
      return Status::io_error(st.message() + " (is the agent still running? stop it first)");
    }
    return st;
  }
  raft::RocksLogStore& store = **opened;
  const raft::HardState hs = store.hard_state();
  if (store.last_index().value() == 0 && hs.term.value() == 0) {
    return Status::not_found("raft recover: " + raft_dir.string() + " holds no Raft state");
  }

  auto old_conf = current_conf(store);
  if (!old_conf) return old_conf.status();
  auto last_term = store.term(store.last_index());
  if (!last_term) return last_term.status();

  const uint64_t lt = last_term->value();
  if (lt > std::numeric_limits<uint64_t>::max() - kRecoveryTermStep) {
    return Status::conflict("raft recover: the log's term is too large to recover from");
  }
  const Term term(lt + kRecoveryTermStep);
  if (hs.term >= term) {
    return Status::conflict("raft recover: the stored term " + raft::to_string(hs.term) +
                            " is too far above the last entry's term " +
                            raft::to_string(*last_term));
  }

  const Entry e{term, store.last_index() + 1, raft::EntryType::kConfChange,
                raft::codec::encode(next)};
  // No vote in the new term; the commit stays where it was (raft_recover.h).
  const raft::HardState new_hs{term, raft::NodeId(), hs.commit};
  SHOAL_RETURN_IF_ERROR(store.save(new_hs, std::span<const Entry>(&e, 1), /*sync=*/true));

  RecoverResult r;
  r.term = term.value();
  r.last_index = e.index.value();
  r.old_conf = std::move(*old_conf);
  r.new_conf = std::move(next);
  return r;
}

}  // namespace shoal::node
